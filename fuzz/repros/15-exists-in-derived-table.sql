-- lienthong-fuzz reproduction: internal error or panic
-- principal: public
-- found by: lienthong-fuzz run --seed 3 (query 2614)
-- governed: refused: internal error: `PolicyBarrier: table=reference.provinces open` between the policy of reference.wards and its scan
-- copy: 3321 rows
-- generated: SELECT CAST(date_trunc('month', d4.c1) AS DATE) AS c0, d4.c1 AS c1 FROM (SELECT (EXISTS (SELECT DATE '1990-01-01' AS c0 FROM reference.provinces t3)) AS c0, CASE WHEN FALSE THEN (DATE '1990-01-01' + INTERVAL '1 month') WHEN (t1.province_code = '00070') THEN DATE '2000-02-29' ELSE DATE '2000-02-29' END AS c1 FROM reference.wards t1) d4 WHERE d4.c0
SELECT d4.c1 AS c0 FROM (SELECT (EXISTS (SELECT DATE '1990-01-01' AS c0 FROM reference.provinces t3)) AS c0, DATE '2000-02-29' AS c1 FROM reference.wards t1) d4 WHERE d4.c0;
