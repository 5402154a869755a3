//! The lines of jBackend's two plugin settings, as `depot import jbackend` reads them:
//!
//! - package groups: `package group;groups[;hash;package name]`, e.g.
//!   `redj_enterprise;9,12;HASH123KEY456;ReDJ Enterprise`;
//! - packages: `package id;package path[;package group]`, e.g.
//!   `redj_ent_190;/private/joomla/redj/com_redj-1.9.0.zip;redj_enterprise`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLine {
    pub name: String,
    pub groups: Vec<i64>,
    pub seed: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLine {
    pub package_id: String,
    pub path: String,
    pub group: Option<String>,
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `package group;groups[;hash;package name]`
pub fn parse_group_line(line: &str) -> Result<GroupLine, String> {
    let fields: Vec<&str> = line.split(';').map(str::trim).collect();
    if !(2..=4).contains(&fields.len()) {
        return Err("expected `package group;groups[;hash;package name]`".into());
    }
    let name = fields[0];
    if !is_identifier(name) {
        return Err(format!(
            "{name:?} is not a package group id (letters, digits, _ - .)"
        ));
    }
    let groups = fields[1]
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse::<i64>()
                .map_err(|_| format!("group {g:?} is not a number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if groups.is_empty() {
        return Err("no user groups listed".into());
    }
    let optional = |i: usize| {
        fields
            .get(i)
            .filter(|f| !f.is_empty())
            .map(|f| f.to_string())
    };
    Ok(GroupLine {
        name: name.to_string(),
        groups,
        seed: optional(2),
        title: optional(3),
    })
}

/// `package id;package path[;package group]`
pub fn parse_package_line(line: &str) -> Result<PackageLine, String> {
    let fields: Vec<&str> = line.split(';').map(str::trim).collect();
    if !(2..=3).contains(&fields.len()) {
        return Err("expected `package id;package path[;package group]`".into());
    }
    if !is_identifier(fields[0]) {
        return Err(format!("{:?} is not a package id", fields[0]));
    }
    if fields[1].is_empty() {
        return Err("no package path".into());
    }
    Ok(PackageLine {
        package_id: fields[0].to_string(),
        path: fields[1].to_string(),
        group: fields
            .get(2)
            .filter(|g| !g.is_empty())
            .map(|g| g.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seeds_lines() {
        assert_eq!(
            parse_group_line("redj_enterprise;9,12;HASH123KEY456;ReDJ Enterprise").unwrap(),
            GroupLine {
                name: "redj_enterprise".into(),
                groups: vec![9, 12],
                seed: Some("HASH123KEY456".into()),
                title: Some("ReDJ Enterprise".into()),
            }
        );
        assert_eq!(parse_group_line("g;9").unwrap().seed, None);
        assert_eq!(
            parse_package_line("redj_com_190;/public/joomla/redj/com_redj.zip").unwrap(),
            PackageLine {
                package_id: "redj_com_190".into(),
                path: "/public/joomla/redj/com_redj.zip".into(),
                group: None,
            }
        );
        assert_eq!(
            parse_package_line("redj_ent_190;x.zip;redj_enterprise")
                .unwrap()
                .group
                .as_deref(),
            Some("redj_enterprise")
        );
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(parse_group_line("g").unwrap_err().contains("expected"));
        assert!(
            parse_group_line("g;nine")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            parse_group_line("g;")
                .unwrap_err()
                .contains("no user groups")
        );
        assert!(
            parse_group_line("bad id;9")
                .unwrap_err()
                .contains("not a package group id")
        );
        assert!(parse_package_line("id").unwrap_err().contains("expected"));
        assert!(
            parse_package_line("id;")
                .unwrap_err()
                .contains("no package path")
        );
        assert!(
            parse_package_line("a b;x.zip")
                .unwrap_err()
                .contains("not a package id")
        );
    }
}
