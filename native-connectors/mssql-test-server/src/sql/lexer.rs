//! Tokens of T-SQL text.

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A bare word (keyword or identifier).
    Word(String),
    /// A `[bracketed]` or `"quoted"` identifier (never a keyword).
    Quoted(String),
    /// A number as written.
    Number(String),
    /// `'text'` (`national` for `N'text'`).
    Str { text: String, national: bool },
    /// `0x0A0B`.
    Binary(Vec<u8>),
    /// `@name` or `@@name`.
    Var(String),
    /// Punctuation / operator.
    Sym(&'static str),
}

impl Tok {
    /// Text for "Incorrect syntax near '…'".
    pub(crate) fn display(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Quoted(w) | Tok::Number(w) | Tok::Var(w) => w.clone(),
            Tok::Str { text, .. } => text.clone(),
            Tok::Binary(b) => format!(
                "0x{}",
                b.iter().map(|x| format!("{x:02X}")).collect::<String>()
            ),
            Tok::Sym(s) => (*s).to_string(),
        }
    }

    /// Whether this is the keyword `kw` (case-insensitive bare word).
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// Splits SQL text into tokens, dropping whitespace and comments.
///
/// The error is the text near which lexing failed.
#[cfg(test)]
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    tokenize_with_positions(sql).map(|v| v.into_iter().map(|(t, _)| t).collect())
}

/// Like [`tokenize`], with the character index where each token starts.
pub(crate) fn tokenize_with_positions(sql: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Positioned::default();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        out.at = i;
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < n {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if (c == 'N' || c == 'n') && chars.get(i + 1) == Some(&'\'') {
            let (text, next) = read_quoted(&chars, i + 1, '\'', '\'')?;
            out.push(Tok::Str {
                text,
                national: true,
            });
            i = next;
            continue;
        }
        if c == '\'' {
            let (text, next) = read_quoted(&chars, i, '\'', '\'')?;
            out.push(Tok::Str {
                text,
                national: false,
            });
            i = next;
            continue;
        }
        if c == '[' {
            let (text, next) = read_quoted(&chars, i, '[', ']')?;
            out.push(Tok::Quoted(text));
            i = next;
            continue;
        }
        if c == '"' {
            let (text, next) = read_quoted(&chars, i, '"', '"')?;
            out.push(Tok::Quoted(text));
            i = next;
            continue;
        }
        if c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
            let start = i + 2;
            let mut j = start;
            while j < n && chars[j].is_ascii_hexdigit() {
                j += 1;
            }
            let hex: String = chars[start..j].iter().collect();
            let hex = if hex.len() % 2 == 1 {
                format!("0{hex}")
            } else {
                hex
            };
            let bytes = (0..hex.len() / 2)
                .map(|k| u8::from_str_radix(&hex[k * 2..k * 2 + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| hex.clone())?;
            out.push(Tok::Binary(bytes));
            i = j;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < n && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < n && matches!(chars[i], 'e' | 'E') {
                let mut j = i + 1;
                if j < n && matches!(chars[j], '+' | '-') {
                    j += 1;
                }
                if j < n && chars[j].is_ascii_digit() {
                    i = j;
                    while i < n && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            out.push(Tok::Number(chars[start..i].iter().collect()));
            continue;
        }
        if c == '@' {
            let start = i;
            i += 1;
            if i < n && chars[i] == '@' {
                i += 1;
            }
            while i < n && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Tok::Var(chars[start..i].iter().collect()));
            continue;
        }
        if is_word_start(c) {
            let start = i;
            while i < n && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
            continue;
        }
        let two: String = chars[i..(i + 2).min(n)].iter().collect();
        let sym2 = ["<>", "!=", "<=", ">=", "!<", "!>"]
            .into_iter()
            .find(|s| *s == two);
        if let Some(s) = sym2 {
            out.push(Tok::Sym(s));
            i += 2;
            continue;
        }
        let sym1 = match c {
            '(' => "(",
            ')' => ")",
            ',' => ",",
            ';' => ";",
            '.' => ".",
            '*' => "*",
            '=' => "=",
            '<' => "<",
            '>' => ">",
            '+' => "+",
            '-' => "-",
            '/' => "/",
            '%' => "%",
            _ => return Err(c.to_string()),
        };
        out.push(Tok::Sym(sym1));
        i += 1;
    }
    Ok(out.toks)
}

/// Token sink that stamps each token with the current start index.
#[derive(Default)]
struct Positioned {
    toks: Vec<(Tok, usize)>,
    at: usize,
}

impl Positioned {
    fn push(&mut self, t: Tok) {
        self.toks.push((t, self.at));
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '#'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '#' || c == '$' || c == '@'
}

/// Reads a quoted run starting at `start` (the opening char); a doubled
/// closing char is an escaped one. Returns the text and the index after it.
fn read_quoted(
    chars: &[char],
    start: usize,
    open: char,
    close: char,
) -> Result<(String, usize), String> {
    debug_assert_eq!(chars.get(start), Some(&open));
    let mut i = start + 1;
    let mut text = String::new();
    loop {
        match chars.get(i) {
            None => {
                let rest: String = chars[start..].iter().take(40).collect();
                return Err(rest);
            }
            Some(&c) if c == close => {
                if chars.get(i + 1) == Some(&close) {
                    text.push(close);
                    i += 2;
                } else {
                    return Ok((text, i + 1));
                }
            }
            Some(&c) => {
                text.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_identifiers_strings_and_comments() {
        let toks = tokenize("SELECT [a]]b], N'it''s' -- c\n FROM x.y WHERE @P1 <> 0x0A0b /* z */")
            .unwrap();
        assert_eq!(
            toks,
            vec![
                Tok::Word("SELECT".into()),
                Tok::Quoted("a]b".into()),
                Tok::Sym(","),
                Tok::Str {
                    text: "it's".into(),
                    national: true
                },
                Tok::Word("FROM".into()),
                Tok::Word("x".into()),
                Tok::Sym("."),
                Tok::Word("y".into()),
                Tok::Word("WHERE".into()),
                Tok::Var("@P1".into()),
                Tok::Sym("<>"),
                Tok::Binary(vec![0x0A, 0x0B]),
            ]
        );
        assert!(tokenize("SELECT 'unterminated").is_err());
        assert_eq!(
            tokenize("1.5e3").unwrap(),
            vec![Tok::Number("1.5e3".into())]
        );
    }
}
