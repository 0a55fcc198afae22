//! What a name and a line may hold, so that every line shows as one line
//! whose name is the one its sender joined with.

/// The longest name, in characters.
pub const MAX_NAME: usize = 32;

/// Characters that end a line where no line ends: U+2028 LINE SEPARATOR
/// and U+2029 PARAGRAPH SEPARATOR (which are not `char::is_control`).
fn breaks_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Characters a name must not hold because they change how the text
/// around them shows without showing themselves: bidi embeddings,
/// overrides, isolates and marks (a name with U+202E shows reversed, and
/// can make `NAME: TEXT` read as another name), and zero-width characters
/// (`bob` and `b\u{200B}ob` look alike and are different members).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}'   // LRE, RLE, PDF, LRO, RLO
        | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
        | '\u{200E}' | '\u{200F}' | '\u{061C}' // LRM, RLM, ALM
        | '\u{200B}'..='\u{200D}' // ZWSP, ZWNJ, ZWJ
        | '\u{2060}' | '\u{FEFF}' // WORD JOINER, ZWNBSP (BOM)
    )
}

/// Percent-decode a `name=` value (as `encodeURIComponent` writes it) and
/// keep what shows on one line as itself: at most [`MAX_NAME`]
/// characters, none of the line-breaking or invisible ones (stripped, not
/// refused: the member still joins, under the name it visibly typed), no
/// `:` (which ends the name in a chat line) and no leading `*` (which
/// marks a notice).
pub fn clean_name(raw: &str) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        let hex = |c: u8| (c as char).to_digit(16);
        match b {
            b'%' if rest.len() >= 2 => match (hex(rest[0]), hex(rest[1])) {
                (Some(h), Some(l)) => {
                    bytes.push((h * 16 + l) as u8);
                    rest = &rest[2..];
                }
                _ => bytes.push(b),
            },
            b'+' => bytes.push(b' '),
            _ => bytes.push(b),
        }
    }
    let name: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|&c| !breaks_line(c) && !invisible(c) && c != ':')
        .take(MAX_NAME)
        .collect();
    name.trim().trim_start_matches('*').trim().to_string()
}

/// A chat line's text as broadcast: line breaks (controls, U+2028,
/// U+2029) become spaces, so one message is one line on every screen and
/// cannot forge a second `NAME: ...` line. Bidi and zero-width characters
/// stay: right-to-left text needs its marks, emoji sequences need U+200D,
/// and after the name they can reorder only the sender's own text.
pub fn clean_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(breaks_line) {
        text.chars()
            .map(|c| if breaks_line(c) { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}
