-- lienthong-fuzz reproduction: an uncorrelated IN subquery over a reference table, column-free after constant folding, beside the ward officer's governed table
-- principal: ward-officer
SELECT h.household_id FROM population.households h WHERE '01' IN (SELECT province_code FROM reference.provinces) AND h.member_count > 2;
