-- lienthong-fuzz reproduction: an uncorrelated EXISTS over another table in WHERE, beside a predicate on the governed table
-- principal: ward-officer
SELECT c.citizen_id FROM population.citizens c WHERE EXISTS (SELECT 1 FROM land.parcels p WHERE p.area_m2 > 100000) AND c.sex = 'male';
