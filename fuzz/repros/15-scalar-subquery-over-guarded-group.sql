-- lienthong-fuzz reproduction: found by lienthong-fuzz run --seed 4 (query 2950): a scalar subquery counting a suppressed group failed while running (a NULL where DataFusion's rewrite declared none); such subqueries over aggregate-only tables are refused
-- principal: statistician
-- copy sql: none
SELECT (SELECT count(*) AS c0 FROM population.citizens t2 WHERE FALSE) AS c0 FROM reference.land_use_codes t1;
