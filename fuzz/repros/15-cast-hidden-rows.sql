-- lienthong-fuzz reproduction: issue 15: a cast that fails on a hidden row
-- principal: ward-officer
SELECT count(*) FROM population.citizens WHERE CAST(full_name AS BIGINT) > 0 OR current_ward_code <> '00070';
