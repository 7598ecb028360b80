-- lienthong-fuzz reproduction: issue 14 finding 2: HAVING that fails only when a suppressed group of one exists
-- principal: statistician
-- copy sql: SELECT * FROM (SELECT current_ward_code, count(*) AS n FROM population.citizens GROUP BY current_ward_code HAVING count(*) >= 10) g WHERE 1 / (n - 1) >= 0
SELECT current_ward_code, count(*) FROM population.citizens GROUP BY current_ward_code HAVING 1 / (count(*) - 1) >= 0;
