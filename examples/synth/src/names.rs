//! Vietnamese names and the other word lists of the synthetic data, with rough national weights.
//! All common names: nothing here identifies anyone.

/// Family names and their approximate share of the population (percent).
pub(crate) const FAMILY_NAMES: &[(&str, f64)] = &[
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.1),
    ("Hoàng", 4.0),
    ("Huỳnh", 2.1),
    ("Phan", 4.5),
    ("Vũ", 2.5),
    ("Võ", 1.4),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.6),
    ("Trương", 0.6),
    ("Mai", 0.4),
    ("Lương", 0.4),
    ("Đào", 0.4),
    ("Tạ", 0.3),
    ("Hà", 0.4),
    ("Lâm", 0.3),
    ("Chu", 0.2),
    ("Kiều", 0.1),
    ("Quách", 0.1),
    ("Triệu", 0.2),
];

/// Middle names given to men.
pub(crate) const MIDDLE_MALE: &[&str] = &[
    "Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Xuân", "Ngọc", "Hoàng", "Tuấn", "Gia",
];
/// Middle names given to women.
pub(crate) const MIDDLE_FEMALE: &[&str] = &[
    "Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Minh", "Hồng", "Bảo", "Khánh", "Thùy", "Mai",
];
/// Given names of men.
pub(crate) const GIVEN_MALE: &[&str] = &[
    "An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đông", "Giang", "Hải", "Hiếu", "Hòa", "Hoàng", "Hùng", "Huy",
    "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Lợi", "Mạnh", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang",
    "Sơn", "Tài", "Thắng", "Thành", "Thiện", "Toàn", "Trung", "Tú", "Tuấn", "Việt", "Vinh", "Bảo", "Khôi", "Đức",
];
/// Given names of women.
pub(crate) const GIVEN_FEMALE: &[&str] = &[
    "An", "Anh", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng", "Huệ", "Hương", "Huyền",
    "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo",
    "Thơ", "Thu", "Thúy", "Trang", "Trâm", "Uyên", "Vân", "Vy", "Xuân", "Yến", "Tâm", "Nhi", "Hân",
];

/// Ethnic groups and approximate shares (percent).
pub(crate) const ETHNICITIES: &[(&str, f64)] = &[
    ("Kinh", 85.3),
    ("Tày", 1.9),
    ("Thái", 1.9),
    ("Mường", 1.5),
    ("H'Mông", 1.5),
    ("Khmer", 1.4),
    ("Nùng", 1.1),
    ("Dao", 0.9),
    ("Hoa", 0.8),
    ("Gia Rai", 0.5),
    ("Ê Đê", 0.4),
    ("Ba Na", 0.3),
    ("Sán Chay", 0.2),
    ("Chăm", 0.2),
    ("Cơ Ho", 0.2),
    ("Xơ Đăng", 0.2),
];

/// Religions and approximate shares (percent); `Không` is none.
pub(crate) const RELIGIONS: &[(&str, f64)] = &[
    ("Không", 86.3),
    ("Công giáo", 6.1),
    ("Phật giáo", 4.8),
    ("Tin Lành", 1.0),
    ("Hòa Hảo", 1.0),
    ("Cao Đài", 0.6),
    ("Hồi giáo", 0.1),
];

/// Blood groups and approximate shares (percent).
pub(crate) const BLOOD_GROUPS: &[(&str, f64)] = &[("O", 42.0), ("B", 30.0), ("A", 21.0), ("AB", 6.0)];

/// Mobile number prefixes (3 digits, starting with `0`).
pub(crate) const PHONE_PREFIXES: &[&str] = &[
    "032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078", "079", "081", "083", "084",
    "085", "086", "088", "089", "090", "091", "093", "094", "096", "097", "098",
];

/// Words of enterprise names (upper case, as registered): what the business does.
pub(crate) const TRADE_WORDS: &[&str] = &[
    "THƯƠNG MẠI VÀ DỊCH VỤ",
    "XÂY DỰNG",
    "ĐẦU TƯ VÀ PHÁT TRIỂN",
    "SẢN XUẤT VÀ THƯƠNG MẠI",
    "CÔNG NGHỆ",
    "VẬN TẢI",
    "XUẤT NHẬP KHẨU",
    "THỰC PHẨM",
    "TƯ VẤN",
    "DU LỊCH",
    "NÔNG NGHIỆP",
    "BẤT ĐỘNG SẢN",
];
/// Words of enterprise names: the brand.
pub(crate) const BRAND_WORDS: &[&str] = &[
    "AN PHÁT",
    "HOÀNG LONG",
    "MINH ANH",
    "THÀNH CÔNG",
    "PHÚ THỊNH",
    "ĐẠI VIỆT",
    "HƯNG THỊNH",
    "SAO MAI",
    "TÂN PHÚ",
    "BÌNH MINH",
    "NAM VIỆT",
    "TRƯỜNG AN",
    "KIM NGÂN",
    "HẢI ĐĂNG",
    "THIÊN PHÚC",
    "ĐÔNG Á",
    "VIỆT HÀN",
    "PHƯƠNG NAM",
    "GIA HUY",
    "BẢO NGỌC",
    "HÒA BÌNH",
    "LỘC PHÁT",
    "QUANG MINH",
    "TIẾN ĐẠT",
];

/// VSIC 2018 level-4 industries common among small enterprises.
pub(crate) const VSIC: &[&str] = &[
    "0118", "0322", "1079", "1410", "2220", "2511", "4100", "4210", "4290", "4322", "4330", "4620", "4632", "4649",
    "4659", "4663", "4690", "4711", "4722", "4773", "4933", "5210", "5510", "5610", "6201", "6202", "6810", "6820",
    "7020", "7110", "7310", "8299", "8559", "8620", "9610",
];

/// `text` without Vietnamese diacritics, lower case, for e-mail addresses.
pub(crate) fn ascii_fold(text: &str) -> String {
    const GROUPS: &[(&str, char)] = &[
        ("àáảãạăằắẳẵặâầấẩẫậ", 'a'),
        ("èéẻẽẹêềếểễệ", 'e'),
        ("ìíỉĩị", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợ", 'o'),
        ("ùúủũụưừứửữự", 'u'),
        ("ỳýỷỹỵ", 'y'),
        ("đ", 'd'),
    ];
    text.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                return Some(c);
            }
            GROUPS.iter().find(|(set, _)| set.contains(c)).map(|(_, plain)| *plain)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_diacritics() {
        assert_eq!(ascii_fold("Đặng Thị Thùy"), "dangthithuy");
        assert_eq!(ascii_fold("Nguyễn Hữu Phước"), "nguyenhuuphuoc");
    }
}
