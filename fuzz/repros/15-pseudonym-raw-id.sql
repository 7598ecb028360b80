-- lienthong-fuzz reproduction: issue 15: a raw citizen id against a pseudonymised column matches nothing
-- principal: inspector
SELECT personnel_no FROM civil_servants.personnel WHERE citizen_id IN (SELECT legal_representative_id FROM business.enterprises) OR citizen_id LIKE '0%';
