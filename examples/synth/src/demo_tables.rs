//! The tables the generator writes, as the demo catalog describes them: names, sources, types,
//! bilingual descriptions, tags and keys. The tests check these against the files themselves.

use lienthong_spec::{Classification as Class, ColumnType as Type};

/// A database of the demo.
pub struct DatabaseDef {
    /// Database name.
    pub name: &'static str,
    /// Owner agency code.
    pub owner: &'static str,
    /// Vietnamese description.
    pub vi: &'static str,
    /// English description.
    pub en: &'static str,
    /// Its tables.
    pub tables: &'static [TableDef],
}

/// A table of the demo.
pub struct TableDef {
    /// Table name.
    pub name: &'static str,
    /// Source name in the catalog.
    pub source: &'static str,
    /// File under the source directory (file sources).
    pub location: Option<&'static str>,
    /// Table or view name in SQLite.
    pub remote_name: Option<&'static str>,
    /// Information class.
    pub classification: Class,
    /// Vietnamese description.
    pub vi: &'static str,
    /// English description.
    pub en: &'static str,
    /// Columns in file order.
    pub columns: &'static [ColumnDef],
}

/// A column of the demo.
pub struct ColumnDef {
    /// Column name.
    pub name: &'static str,
    /// Logical type.
    pub data_type: Type,
    /// Vietnamese description.
    pub vi: &'static str,
    /// English description.
    pub en: &'static str,
    /// Tags.
    pub tags: &'static [&'static str],
    /// Part of the primary key.
    pub primary_key: bool,
    /// Referenced column, `<database>.<table>.<column>`.
    pub references: Option<&'static str>,
}

/// A column without tags, key or reference; see the builder methods.
const fn col(name: &'static str, data_type: Type, vi: &'static str, en: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        data_type,
        vi,
        en,
        tags: &[],
        primary_key: false,
        references: None,
    }
}

impl ColumnDef {
    const fn tags(mut self, tags: &'static [&'static str]) -> Self {
        self.tags = tags;
        self
    }

    const fn key(mut self) -> Self {
        self.primary_key = true;
        self
    }

    const fn refs(mut self, column: &'static str) -> Self {
        self.references = Some(column);
        self
    }
}

// The public registration fields, shared by `business.enterprises` and its open view.
const ENTERPRISE_CODE: ColumnDef = col(
    "enterprise_code",
    Type::String,
    "Mã số doanh nghiệp (mã số thuế)",
    "Enterprise code (tax code)",
)
.tags(&["identifier.enterprise"])
.key();
const ENTERPRISE_NAME: ColumnDef = col("name", Type::String, "Tên doanh nghiệp", "Enterprise name");
const LEGAL_FORM: ColumnDef = col("legal_form", Type::String, "Loại hình doanh nghiệp", "Legal form");
const STATUS: ColumnDef = col("status", Type::String, "Tình trạng hoạt động", "Status");
const REGISTRATION_DATE: ColumnDef = col(
    "registration_date",
    Type::Date,
    "Ngày đăng ký lần đầu",
    "First registration date",
);
const HEAD_OFFICE_WARD: ColumnDef = col(
    "head_office_ward_code",
    Type::String,
    "Trụ sở chính (mã xã, phường)",
    "Head office (ward code)",
)
.tags(&["location.ward"]);
const HEAD_OFFICE_PROVINCE: ColumnDef = col(
    "head_office_province_code",
    Type::String,
    "Trụ sở chính (mã tỉnh)",
    "Head office (province code)",
);
const MAIN_INDUSTRY: ColumnDef = col(
    "main_industry",
    Type::String,
    "Ngành kinh doanh chính (VSIC cấp 4)",
    "Main industry (VSIC level 4)",
);

/// Every database the generator writes.
pub const DATABASES: &[DatabaseDef] = &[
    DatabaseDef {
        name: "reference",
        owner: "000.00.00.G12",
        vi: "Danh mục dùng chung",
        en: "Shared code lists",
        tables: &[
            TableDef {
                name: "provinces",
                source: "reference_files",
                location: Some("provinces.parquet"),
                remote_name: None,
                classification: Class::Open,
                vi: "Tỉnh, thành phố (từ 01/7/2025)",
                en: "Provinces (since 1 July 2025)",
                columns: &[
                    col("province_code", Type::String, "Mã tỉnh", "Province code").key(),
                    col("province_name", Type::String, "Tên tỉnh", "Province name"),
                    col(
                        "formed_from_pre2025_codes",
                        Type::String,
                        "Mã các tỉnh cũ hợp thành",
                        "Pre-2025 provinces merged into it",
                    ),
                ],
            },
            TableDef {
                name: "provinces_pre2025",
                source: "reference_files",
                location: Some("provinces_pre2025.parquet"),
                remote_name: None,
                classification: Class::Open,
                vi: "Tỉnh, thành phố trước 01/7/2025",
                en: "Provinces before 1 July 2025",
                columns: &[
                    col("province_code", Type::String, "Mã tỉnh cũ", "Pre-2025 province code").key(),
                    col("province_name", Type::String, "Tên tỉnh cũ", "Pre-2025 province name"),
                    col(
                        "citizen_id_prefix",
                        Type::String,
                        "Ba số đầu của số định danh",
                        "First three digits of citizen IDs",
                    ),
                    col(
                        "province_code_2025",
                        Type::String,
                        "Mã tỉnh từ 2025",
                        "Province code since 2025",
                    )
                    .refs("reference.provinces.province_code"),
                ],
            },
            TableDef {
                name: "wards",
                source: "reference_files",
                location: Some("wards.parquet"),
                remote_name: None,
                classification: Class::Open,
                vi: "Xã, phường, đặc khu (từ 01/7/2025)",
                en: "Communes, wards and special zones (since 1 July 2025)",
                columns: &[
                    col("ward_code", Type::String, "Mã xã, phường", "Ward code")
                        .tags(&["location.ward"])
                        .key(),
                    col("ward_name", Type::String, "Tên xã, phường", "Ward name"),
                    col(
                        "ward_kind",
                        Type::String,
                        "Loại: xã, phường, đặc khu",
                        "Kind: commune, ward, special zone",
                    ),
                    col("province_code", Type::String, "Mã tỉnh", "Province code")
                        .refs("reference.provinces.province_code"),
                    col("province_name", Type::String, "Tên tỉnh", "Province name"),
                ],
            },
            TableDef {
                name: "land_use_codes",
                source: "reference_files",
                location: Some("land_use_codes.parquet"),
                remote_name: None,
                classification: Class::Open,
                vi: "Mã loại đất",
                en: "Land-use purpose codes",
                columns: &[
                    col("code", Type::String, "Mã loại đất", "Land-use code").key(),
                    col("land_group", Type::String, "Nhóm đất", "Land group"),
                    col("name_vi", Type::String, "Tên tiếng Việt", "Vietnamese name"),
                    col("name_en", Type::String, "Tên tiếng Anh", "English name"),
                ],
            },
        ],
    },
    DatabaseDef {
        name: "population",
        owner: "000.00.00.G01",
        vi: "Cơ sở dữ liệu quốc gia về dân cư",
        en: "National population database",
        tables: &[
            TableDef {
                name: "citizens",
                source: "population_files",
                location: Some("citizens.parquet"),
                remote_name: None,
                classification: Class::Restricted,
                vi: "Công dân",
                en: "Citizens",
                columns: &[
                    col(
                        "citizen_id",
                        Type::String,
                        "Số định danh cá nhân",
                        "Personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .key(),
                    col("full_name", Type::String, "Họ, chữ đệm và tên", "Full name").tags(&["pii.basic"]),
                    col("date_of_birth", Type::Date, "Ngày sinh", "Date of birth").tags(&["pii.basic"]),
                    col("sex", Type::String, "Giới tính", "Sex").tags(&["pii.basic"]),
                    col(
                        "birth_registration_province",
                        Type::String,
                        "Nơi đăng ký khai sinh (mã tỉnh cũ)",
                        "Province of birth registration (pre-2025 code)",
                    )
                    .tags(&["pii.basic"])
                    .refs("reference.provinces_pre2025.province_code"),
                    col("home_town", Type::String, "Quê quán", "Home town").tags(&["pii.basic"]),
                    col("ethnicity", Type::String, "Dân tộc", "Ethnicity").tags(&["pii.sensitive"]),
                    col("religion", Type::String, "Tôn giáo", "Religion").tags(&["pii.sensitive"]),
                    col("nationality", Type::String, "Quốc tịch", "Nationality").tags(&["pii.basic"]),
                    col("blood_group", Type::String, "Nhóm máu", "Blood group").tags(&["pii.sensitive"]),
                    col(
                        "permanent_ward_code",
                        Type::String,
                        "Nơi thường trú (mã xã, phường)",
                        "Permanent residence (ward code)",
                    )
                    .tags(&["pii.basic", "location.ward"])
                    .refs("reference.wards.ward_code"),
                    col(
                        "permanent_province_code",
                        Type::String,
                        "Nơi thường trú (mã tỉnh)",
                        "Permanent residence (province code)",
                    )
                    .tags(&["pii.basic"])
                    .refs("reference.provinces.province_code"),
                    col(
                        "current_ward_code",
                        Type::String,
                        "Nơi ở hiện tại (mã xã, phường)",
                        "Current residence (ward code)",
                    )
                    .tags(&["pii.basic", "location.ward"])
                    .refs("reference.wards.ward_code"),
                    col(
                        "current_province_code",
                        Type::String,
                        "Nơi ở hiện tại (mã tỉnh)",
                        "Current residence (province code)",
                    )
                    .tags(&["pii.basic"])
                    .refs("reference.provinces.province_code"),
                    col("marital_status", Type::String, "Tình trạng hôn nhân", "Marital status").tags(&["pii.basic"]),
                    col(
                        "father_id",
                        Type::String,
                        "Số định danh của cha",
                        "Father's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col(
                        "mother_id",
                        Type::String,
                        "Số định danh của mẹ",
                        "Mother's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col(
                        "spouse_id",
                        Type::String,
                        "Số định danh của vợ hoặc chồng",
                        "Spouse's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col("household_id", Type::String, "Mã hộ gia đình", "Household number")
                        .tags(&["pii.basic"])
                        .refs("population.households.household_id"),
                    col(
                        "relationship_to_head",
                        Type::String,
                        "Quan hệ với chủ hộ",
                        "Relationship to the head of household",
                    )
                    .tags(&["pii.basic"]),
                    col("phone", Type::String, "Số điện thoại", "Phone number").tags(&["pii.basic", "contact"]),
                    col("email", Type::String, "Thư điện tử", "E-mail address").tags(&["pii.basic", "contact"]),
                    col("date_of_death", Type::Date, "Ngày mất", "Date of death").tags(&["pii.basic"]),
                ],
            },
            TableDef {
                name: "households",
                source: "population_files",
                location: Some("households.parquet"),
                remote_name: None,
                classification: Class::Restricted,
                vi: "Hộ gia đình",
                en: "Households",
                columns: &[
                    col("household_id", Type::String, "Mã hộ gia đình", "Household number")
                        .tags(&["pii.basic"])
                        .key(),
                    col(
                        "head_citizen_id",
                        Type::String,
                        "Số định danh của chủ hộ",
                        "Head of household's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col("ward_code", Type::String, "Mã xã, phường", "Ward code")
                        .tags(&["location.ward"])
                        .refs("reference.wards.ward_code"),
                    col("province_code", Type::String, "Mã tỉnh", "Province code")
                        .refs("reference.provinces.province_code"),
                    col("member_count", Type::Int32, "Số thành viên", "Number of members"),
                    col("registered_date", Type::Date, "Ngày đăng ký", "Registration date"),
                ],
            },
        ],
    },
    DatabaseDef {
        name: "business",
        owner: "000.00.00.G12",
        vi: "Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp",
        en: "National business registration database",
        tables: &[
            TableDef {
                name: "enterprises",
                source: "registries",
                location: None,
                remote_name: Some("enterprises"),
                classification: Class::Shared,
                vi: "Doanh nghiệp",
                en: "Enterprises",
                columns: &[
                    ENTERPRISE_CODE,
                    ENTERPRISE_NAME,
                    LEGAL_FORM,
                    STATUS,
                    REGISTRATION_DATE,
                    HEAD_OFFICE_WARD.refs("reference.wards.ward_code"),
                    HEAD_OFFICE_PROVINCE.refs("reference.provinces.province_code"),
                    col(
                        "charter_capital_vnd",
                        Type::Int64,
                        "Vốn điều lệ (đồng)",
                        "Charter capital (VND)",
                    ),
                    MAIN_INDUSTRY,
                    col(
                        "legal_representative_id",
                        Type::String,
                        "Số định danh người đại diện theo pháp luật",
                        "Legal representative's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                ],
            },
            TableDef {
                name: "enterprise_register",
                source: "registries",
                location: None,
                remote_name: Some("enterprise_register"),
                classification: Class::Open,
                vi: "Thông tin đăng ký doanh nghiệp công khai",
                en: "Public business registration information",
                columns: &[
                    ENTERPRISE_CODE,
                    ENTERPRISE_NAME,
                    LEGAL_FORM,
                    STATUS,
                    REGISTRATION_DATE,
                    HEAD_OFFICE_WARD,
                    HEAD_OFFICE_PROVINCE,
                    MAIN_INDUSTRY,
                ],
            },
            TableDef {
                name: "shareholders",
                source: "registries",
                location: None,
                remote_name: Some("shareholders"),
                classification: Class::Restricted,
                vi: "Cổ đông, thành viên góp vốn",
                en: "Shareholders and members",
                columns: &[
                    col("enterprise_code", Type::String, "Mã số doanh nghiệp", "Enterprise code")
                        .tags(&["identifier.enterprise"])
                        .key()
                        .refs("business.enterprises.enterprise_code"),
                    col(
                        "holder_kind",
                        Type::String,
                        "Loại chủ sở hữu: cá nhân, doanh nghiệp",
                        "Holder kind: citizen or enterprise",
                    ),
                    col(
                        "holder_citizen_id",
                        Type::String,
                        "Số định danh của cổ đông cá nhân",
                        "Individual holder's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col(
                        "holder_enterprise_code",
                        Type::String,
                        "Mã số của cổ đông doanh nghiệp",
                        "Corporate holder's enterprise code",
                    )
                    .tags(&["identifier.enterprise"])
                    .refs("business.enterprises.enterprise_code"),
                    col("share_pct", Type::Float64, "Tỷ lệ sở hữu (%)", "Share (%)"),
                    col(
                        "capital_vnd",
                        Type::Int64,
                        "Vốn góp (đồng)",
                        "Contributed capital (VND)",
                    ),
                ],
            },
        ],
    },
    DatabaseDef {
        name: "land",
        owner: "000.00.00.G10",
        vi: "Cơ sở dữ liệu đất đai",
        en: "Land database",
        tables: &[
            TableDef {
                name: "parcels",
                source: "land_files",
                location: Some("parcels.parquet"),
                remote_name: None,
                classification: Class::Shared,
                vi: "Thửa đất",
                en: "Land parcels",
                columns: &[
                    col("parcel_id", Type::String, "Mã thửa đất", "Parcel identifier").key(),
                    col("ward_code", Type::String, "Mã xã, phường", "Ward code")
                        .tags(&["location.ward"])
                        .refs("reference.wards.ward_code"),
                    col("province_code", Type::String, "Mã tỉnh", "Province code")
                        .refs("reference.provinces.province_code"),
                    col("map_sheet", Type::Int32, "Số tờ bản đồ", "Map sheet number"),
                    col("parcel_no", Type::Int32, "Số thửa", "Parcel number"),
                    col("area_m2", Type::Float64, "Diện tích (m²)", "Area (m²)"),
                    col(
                        "land_use_code",
                        Type::String,
                        "Mục đích sử dụng đất",
                        "Land-use purpose",
                    )
                    .refs("reference.land_use_codes.code"),
                    col(
                        "use_term_until",
                        Type::Date,
                        "Thời hạn sử dụng (rỗng: lâu dài)",
                        "Use term until (empty: long-term)",
                    ),
                    col("origin", Type::String, "Nguồn gốc sử dụng", "Origin of use"),
                ],
            },
            TableDef {
                name: "rights",
                source: "land_files",
                location: Some("rights.parquet"),
                remote_name: None,
                classification: Class::Restricted,
                vi: "Quyền sử dụng đất",
                en: "Land-use rights",
                columns: &[
                    col("parcel_id", Type::String, "Mã thửa đất", "Parcel identifier")
                        .key()
                        .refs("land.parcels.parcel_id"),
                    col(
                        "ward_code",
                        Type::String,
                        "Mã xã, phường của thửa",
                        "Parcel's ward code",
                    )
                    .tags(&["location.ward"])
                    .refs("reference.wards.ward_code"),
                    col(
                        "province_code",
                        Type::String,
                        "Mã tỉnh của thửa",
                        "Parcel's province code",
                    )
                    .refs("reference.provinces.province_code"),
                    col("holder_kind", Type::String, "Loại người sử dụng đất", "Holder kind"),
                    col(
                        "holder_citizen_id",
                        Type::String,
                        "Số định danh người sử dụng đất",
                        "Holder's personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col(
                        "holder_enterprise_code",
                        Type::String,
                        "Mã số doanh nghiệp sử dụng đất",
                        "Holder's enterprise code",
                    )
                    .tags(&["identifier.enterprise"])
                    .refs("business.enterprises.enterprise_code"),
                    col(
                        "certificate_no",
                        Type::String,
                        "Số giấy chứng nhận",
                        "Certificate number",
                    ),
                    col("issue_date", Type::Date, "Ngày cấp", "Issue date"),
                    col("share", Type::Float64, "Tỷ lệ quyền", "Share of the right"),
                ],
            },
        ],
    },
    DatabaseDef {
        name: "civil_servants",
        owner: "000.00.00.G09",
        vi: "Cơ sở dữ liệu quốc gia về cán bộ, công chức, viên chức",
        en: "National database of cadres, civil servants and public employees",
        tables: &[
            TableDef {
                name: "agencies",
                source: "registries",
                location: None,
                remote_name: Some("agencies"),
                classification: Class::Shared,
                vi: "Cơ quan, đơn vị",
                en: "Agencies",
                columns: &[
                    col("agency_code", Type::String, "Mã định danh điện tử", "Electronic code").key(),
                    col("name", Type::String, "Tên cơ quan", "Agency name"),
                    col(
                        "province_code",
                        Type::String,
                        "Mã tỉnh (rỗng: trung ương)",
                        "Province code (empty: central)",
                    )
                    .refs("reference.provinces.province_code"),
                    col("parent_code", Type::String, "Mã cơ quan cấp trên", "Parent agency code")
                        .refs("civil_servants.agencies.agency_code"),
                ],
            },
            TableDef {
                name: "personnel",
                source: "registries",
                location: None,
                remote_name: Some("personnel"),
                classification: Class::Restricted,
                vi: "Cán bộ, công chức",
                en: "Civil servants",
                columns: &[
                    col("personnel_no", Type::String, "Số hiệu cán bộ", "Personnel number").key(),
                    col(
                        "citizen_id",
                        Type::String,
                        "Số định danh cá nhân",
                        "Personal identification number",
                    )
                    .tags(&["identifier.citizen", "pii.basic"])
                    .refs("population.citizens.citizen_id"),
                    col("agency_code", Type::String, "Cơ quan công tác", "Employing agency")
                        .refs("civil_servants.agencies.agency_code"),
                    col(
                        "agency_province_code",
                        Type::String,
                        "Tỉnh của cơ quan (rỗng: trung ương)",
                        "Agency's province (empty: central)",
                    )
                    .refs("reference.provinces.province_code"),
                    col("position", Type::String, "Chức vụ", "Position"),
                    col("grade_code", Type::String, "Mã ngạch", "Grade code"),
                    col("salary_coefficient", Type::Float64, "Hệ số lương", "Salary coefficient"),
                    col("start_date", Type::Date, "Ngày bắt đầu công tác", "Start date"),
                    col("annual_rating", Type::String, "Xếp loại năm", "Annual rating"),
                ],
            },
        ],
    },
];
