-- lienthong-fuzz reproduction: internal error or panic
-- principal: public
-- found by: lienthong-fuzz run --seed 3 (query 3155)
-- governed: refused: internal error: the physical plan lost a policy barrier
-- copy: 1 rows
-- generated: (SELECT min(CAST(date_trunc('month', DATE '1990-01-01') AS DATE)) AS c0 FROM (SELECT avg(1000) AS c0, count(*) AS c1 FROM business.enterprise_register t1 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST LIMIT 100 OFFSET 1) d3) INTERSECT (SELECT min(DATE '1990-01-01') AS c0 FROM reference.land_use_codes t4 WHERE FALSE ORDER BY 1 NULLS FIRST LIMIT 100)
SELECT count(*) AS c0 FROM (SELECT count(*) AS c0 FROM business.enterprise_register t1 ORDER BY 1 NULLS FIRST LIMIT 100) d3;
