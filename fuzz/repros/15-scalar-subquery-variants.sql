-- lienthong-fuzz reproduction: variants of the refused scalar subquery: another aggregate, in WHERE, nested in CASE
-- principal: statistician
-- copy sql: none
SELECT p.province_code FROM reference.provinces p WHERE CASE WHEN (SELECT sum(1) FROM (SELECT current_ward_code FROM population.citizens c WHERE c.current_province_code = p.province_code) d) > 10 THEN true ELSE false END;
