-- lienthong-fuzz reproduction: found by lienthong-fuzz run --seed 2 (query 721): an aggregate-only count over a contradiction reads nothing and is still guarded
-- principal: statistician
-- copy sql: SELECT count(*) AS c0 FROM population.citizens t1 WHERE CAST(NULL AS BOOLEAN) HAVING (count(*) >= 10)
SELECT count(*) AS c0 FROM population.citizens t1 WHERE CAST(NULL AS BOOLEAN);
