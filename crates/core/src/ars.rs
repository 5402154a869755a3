//! Akeeba Release System's formats that installed sites keep using after a move to depot
//! (`depot import ars`): its Download IDs and its URLs, read as ARS and Joomla read them.

/// A `dlid` in ARS's form, as ARS reads it (`reformatDownloadID`): trimmed, an optional
/// `user_id:` prefix, the ID cut to 32 characters. `None` for anything shorter.
pub fn normalise_download_id(sent: &str) -> Option<String> {
    let sent = sent.trim();
    if sent.len() < 32 {
        return None;
    }
    let (user, id) = match sent.split_once(':') {
        Some((user, id)) => {
            let user: u64 = user.trim().parse().ok().filter(|&u| u > 0)?;
            (Some(user), id.trim_end())
        }
        None => (None, sent),
    };
    let id: String = id.chars().take(32).collect();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(match user {
        Some(u) => format!("{u}:{id}"),
        None => id,
    })
}

/// What an ARS URL asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ArsRequest {
    Stream(i64),
    Item(i64),
}

/// Reads an `index.php` query string the way Joomla routes it to ARS; `None` for anything
/// else (another component, a page depot does not serve).
pub fn ars_request(query: &str) -> Option<ArsRequest> {
    let mut option = None;
    let mut view = None;
    let mut task = None;
    let mut id = None;
    let mut stream_id = None;
    let mut item_id = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_ascii_lowercase();
        match k.as_ref() {
            "option" => option = Some(v),
            "view" => view = Some(v),
            "task" => task = Some(v),
            "id" => id = v.parse().ok(),
            "stream_id" => stream_id = v.parse().ok(),
            "item_id" => item_id = v.parse().ok(),
            _ => {}
        }
    }
    if option.as_deref() != Some("com_ars") {
        return None;
    }
    match (view.as_deref(), task.as_deref()) {
        (Some("update" | "updates"), _) => stream_id.or(id).map(ArsRequest::Stream),
        (Some("item"), _) | (None, Some("download")) => item_id.or(id).map(ArsRequest::Item),
        _ => None,
    }
}

/// The stream alias a search-engine-friendly ARS feed URL ends in: its last path segment, when
/// the URL asks for XML (a `.xml` suffix or `format=xml`).
pub fn sef_stream_alias<'a>(path: &'a str, query: Option<&str>) -> Option<&'a str> {
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let wants_xml = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "format" && v.eq_ignore_ascii_case("xml"))
    });
    let alias = match last.strip_suffix(".xml") {
        Some(alias) => alias,
        None if wants_xml => last,
        None => return None,
    };
    (!alias.is_empty()
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(alias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_ids_read_as_ars_reads_them() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(normalise_download_id(id).as_deref(), Some(id));
        assert_eq!(
            normalise_download_id(&format!(" 42:{id} ")).as_deref(),
            Some(format!("42:{id}").as_str())
        );
        assert_eq!(
            normalise_download_id(&format!("{id}trailing")).as_deref(),
            Some(id)
        );
        for bad in [
            "",
            "short",
            &format!("0:{id}"),
            &format!("x:{id}"),
            &format!("42:{}", &id[..31]),
            "0123456789abcdef0123456789abcde!",
        ] {
            assert_eq!(normalise_download_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_ars_urls_as_joomla_routes_them() {
        for (q, want) in [
            (
                "option=com_ars&view=update&task=stream&format=xml&id=3",
                Some(ArsRequest::Stream(3)),
            ),
            (
                "option=com_ars&view=update&format=xml&stream_id=4",
                Some(ArsRequest::Stream(4)),
            ),
            (
                "option=com_ars&view=Updates&task=stream&id=5",
                Some(ArsRequest::Stream(5)),
            ),
            (
                "option=com_ars&view=Item&task=download&item_id=7&dlid=x",
                Some(ArsRequest::Item(7)),
            ),
            (
                "option=com_ars&view=item&id=8&format=raw",
                Some(ArsRequest::Item(8)),
            ),
            (
                "option=com_ars&task=download&id=9",
                Some(ArsRequest::Item(9)),
            ),
            ("option=com_content&view=article&id=1", None),
            ("option=com_ars&view=categories", None),
            ("option=com_ars&view=update&id=x", None),
            ("", None),
        ] {
            assert_eq!(ars_request(q), want, "{q}");
        }
    }

    #[test]
    fn sef_stream_urls_end_in_the_alias_and_ask_for_xml() {
        for (path, query, want) in [
            (
                "/index.php/downloads/update/widgets.xml",
                None,
                Some("widgets"),
            ),
            (
                "/downloads/update/widgets",
                Some("format=xml"),
                Some("widgets"),
            ),
            ("/update/my-ext_2.xml", Some("dlid=x"), Some("my-ext_2")),
            ("/downloads/update/widgets", None, None),
            ("/downloads/update/.xml", None, None),
            ("/a/b%20c.xml", None, None),
        ] {
            assert_eq!(sef_stream_alias(path, query), want, "{path}");
        }
    }
}
