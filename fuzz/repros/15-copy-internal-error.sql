-- lienthong-fuzz reproduction: answered where the copy failed
-- principal: business-registrar
-- found by: lienthong-fuzz run --seed 2 (query 2040)
-- governed: 0 rows
-- copy: failed while running: aggregate_statistics caused by Internal error: PhysicalExpr Column references column 'count(Utf8("%")) FILTER (WHERE Boolean(false))' at index 1 (zero-based) but input schema only has 1 columns: ["count(Int64(1))"]. This issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/…
-- generated: SELECT max(DATE '1990-01-01') AS c0, sum(d3.c0) AS c1 FROM (SELECT count(t1.date_of_birth) AS c0 FROM population.citizens t1) d3 WHERE TRUE HAVING (count('%') FILTER (WHERE FALSE) = 10)
SELECT sum(d3.c0) AS c0 FROM (SELECT count(*) AS c0 FROM population.citizens t1) d3 HAVING (count('%') FILTER (WHERE FALSE) = 10);
