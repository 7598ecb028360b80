-- lienthong-fuzz reproduction: issue 14 finding 1: FILTER inside an aggregate-only count
-- principal: statistician
SELECT current_province_code, count(*) FILTER (WHERE current_ward_code = '00070') AS n FROM population.citizens GROUP BY current_province_code;
