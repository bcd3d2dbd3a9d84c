//! Salvaging an audit event whose text was cut short.
//!
//! Storage-account exports cut `properties.log` at 16 KiB: an event with a large
//! `requestObject` / `responseObject` loses its end (often `requestReceivedTimestamp`,
//! `stageTimestamp` and `annotations`, which Go's encoder writes last). Rather than drop
//! exactly the heavy writes an operator is looking for, the members that were complete before
//! the cut are kept: the text is checked as the beginning of a JSON object, cut back to its
//! last complete member, and closed. Only a cut at the end is salvaged — text that is invalid
//! before its end is not a cut event but garbage, and stays an error.

/// `text` closed after its last complete member, when `text` is a valid beginning of a JSON
/// object that ends early. `None` when it is complete, invalid anywhere before its end, or
/// nested deeper than [`MAX_NESTING`](crate::decoder::MAX_NESTING).
///
/// A member counts as complete when its value ended before the cut; members inside an array
/// are never cut back to (a shortened list would read as a whole one), so a cut inside an
/// array drops the member holding it. A number at the very end is taken as cut (more digits
/// may have followed).
pub(crate) fn close_cut_object(text: &[u8]) -> Option<Vec<u8>> {
    let mut walk = Walk::default();
    match walk.run(text) {
        Outcome::Cut => {
            let (end, depth) = walk.last_cut?;
            let mut out = Vec::with_capacity(end + depth);
            out.extend_from_slice(text.get(..end)?);
            out.resize(end + depth, b'}');
            Some(out)
        }
        Outcome::Complete | Outcome::Invalid => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (the root, after a key's colon, after an array's comma).
    Value,
    /// A value or `]` (right after `[`).
    ValueOrClose,
    /// A key or `}` (right after `{`).
    KeyOrClose,
    /// A key (after a comma in an object).
    Key,
    Colon,
    /// `,` or the container's closing bracket.
    CommaOrClose,
}

enum Outcome {
    /// The text ended inside the object.
    Cut,
    /// The object closed (nothing to salvage: the error was something else).
    Complete,
    /// Not the beginning of a JSON object.
    Invalid,
}

/// The walk's state: open containers, and where the text could last be cut and closed.
#[derive(Default)]
struct Walk {
    stack: Vec<Container>,
    arrays_open: usize,
    /// After the last complete member of an object reached through objects only: the end of
    /// that member and how many objects are open there.
    last_cut: Option<(usize, usize)>,
}

impl Walk {
    fn run(&mut self, text: &[u8]) -> Outcome {
        let mut expect = Expect::Value;
        let mut i = 0;
        loop {
            while text.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            let Some(&b) = text.get(i) else {
                return if self.stack.is_empty() {
                    Outcome::Invalid
                } else {
                    Outcome::Cut
                };
            };
            if self.stack.is_empty() && expect != Expect::Value {
                // The root object closed; anything after it is not a cut.
                return Outcome::Complete;
            }
            match expect {
                Expect::Value | Expect::ValueOrClose => {
                    if self.stack.is_empty() && b != b'{' {
                        return Outcome::Invalid;
                    }
                    match b {
                        b']' if expect == Expect::ValueOrClose => {
                            i += 1;
                            expect = self.close(Container::Array, i);
                        }
                        b'{' => {
                            i += 1;
                            if !self.open(Container::Object) {
                                return Outcome::Invalid;
                            }
                            self.mark(i);
                            expect = Expect::KeyOrClose;
                        }
                        b'[' => {
                            i += 1;
                            if !self.open(Container::Array) {
                                return Outcome::Invalid;
                            }
                            expect = Expect::ValueOrClose;
                        }
                        _ => {
                            let end = match scalar_end(text, i) {
                                Scalar::Ends(end) => end,
                                Scalar::Cut => return Outcome::Cut,
                                Scalar::Invalid => return Outcome::Invalid,
                            };
                            i = end;
                            expect = self.after_value(i);
                        }
                    }
                }
                Expect::KeyOrClose | Expect::Key => match b {
                    b'}' if expect == Expect::KeyOrClose => {
                        i += 1;
                        expect = self.close(Container::Object, i);
                    }
                    b'"' => match string_end(text, i) {
                        Scalar::Ends(end) => {
                            i = end;
                            expect = Expect::Colon;
                        }
                        Scalar::Cut => return Outcome::Cut,
                        Scalar::Invalid => return Outcome::Invalid,
                    },
                    _ => return Outcome::Invalid,
                },
                Expect::Colon => {
                    if b != b':' {
                        return Outcome::Invalid;
                    }
                    i += 1;
                    expect = Expect::Value;
                }
                Expect::CommaOrClose => {
                    let top = self.stack.last().copied();
                    i += 1;
                    expect = match (b, top) {
                        (b',', Some(Container::Object)) => Expect::Key,
                        (b',', Some(Container::Array)) => Expect::Value,
                        (b'}', Some(Container::Object)) => self.close(Container::Object, i),
                        (b']', Some(Container::Array)) => self.close(Container::Array, i),
                        _ => return Outcome::Invalid,
                    };
                }
            }
        }
    }

    fn open(&mut self, c: Container) -> bool {
        if self.stack.len() >= crate::decoder::MAX_NESTING {
            return false;
        }
        self.stack.push(c);
        if c == Container::Array {
            self.arrays_open += 1;
        }
        true
    }

    /// Closes the innermost container (its bracket ended at `at`).
    fn close(&mut self, c: Container, at: usize) -> Expect {
        self.stack.pop();
        if c == Container::Array {
            self.arrays_open = self.arrays_open.saturating_sub(1);
        }
        self.after_value(at)
    }

    /// A value ended at `at`: a member is complete if it was an object's.
    fn after_value(&mut self, at: usize) -> Expect {
        if self.stack.last() == Some(&Container::Object) {
            self.mark(at);
        }
        Expect::CommaOrClose
    }

    /// The text may be cut at `at` if every open container is an object.
    fn mark(&mut self, at: usize) {
        if self.arrays_open == 0 {
            self.last_cut = Some((at, self.stack.len()));
        }
    }
}

enum Scalar {
    /// The value ends before this byte.
    Ends(usize),
    /// The text ends inside the value.
    Cut,
    Invalid,
}

/// A string, number or literal starting at `at`.
fn scalar_end(text: &[u8], at: usize) -> Scalar {
    match text.get(at) {
        Some(b'"') => string_end(text, at),
        Some(b't') => literal_end(text, at, b"true"),
        Some(b'f') => literal_end(text, at, b"false"),
        Some(b'n') => literal_end(text, at, b"null"),
        Some(b'-' | b'0'..=b'9') => number_end(text, at),
        _ => Scalar::Invalid,
    }
}

fn literal_end(text: &[u8], at: usize, word: &[u8]) -> Scalar {
    let rest = text.get(at..).unwrap_or_default();
    if rest.len() < word.len() {
        return if word.starts_with(rest) {
            Scalar::Cut
        } else {
            Scalar::Invalid
        };
    }
    if rest.starts_with(word) {
        Scalar::Ends(at + word.len())
    } else {
        Scalar::Invalid
    }
}

/// A string starting at the quote at `at`: escapes checked, control characters refused.
fn string_end(text: &[u8], at: usize) -> Scalar {
    let mut i = at + 1;
    loop {
        let Some(&b) = text.get(i) else {
            return Scalar::Cut;
        };
        match b {
            b'"' => return Scalar::Ends(i + 1),
            b'\\' => {
                let Some(&e) = text.get(i + 1) else {
                    return Scalar::Cut;
                };
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        for k in 0..4 {
                            match text.get(i + 2 + k) {
                                None => return Scalar::Cut,
                                Some(h) if h.is_ascii_hexdigit() => {}
                                Some(_) => return Scalar::Invalid,
                            }
                        }
                        i += 6;
                    }
                    _ => return Scalar::Invalid,
                }
            }
            0..=0x1f => return Scalar::Invalid,
            _ => i += 1,
        }
    }
}

/// A number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) starting at `at`. A number
/// running to the end of the text is cut: more digits may have followed.
fn number_end(text: &[u8], at: usize) -> Scalar {
    let at_end = |i: usize| i >= text.len();
    let digits = |mut i: usize| {
        let start = i;
        while text.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - start)
    };
    // The digits a fraction or exponent needs: none is a cut at the end, invalid elsewhere.
    let required_digits = |i: usize| match digits(i) {
        (end, 0) if at_end(end) => Err(Scalar::Cut),
        (_, 0) => Err(Scalar::Invalid),
        (end, _) => Ok(end),
    };
    let mut i = at;
    if text.get(i) == Some(&b'-') {
        i += 1;
    }
    if at_end(i) {
        return Scalar::Cut;
    }
    let (end, n) = digits(i);
    if n == 0 || (n > 1 && text.get(i) == Some(&b'0')) {
        return Scalar::Invalid;
    }
    i = end;
    if text.get(i) == Some(&b'.') {
        i = match required_digits(i + 1) {
            Ok(end) => end,
            Err(s) => return s,
        };
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = match required_digits(i) {
            Ok(end) => end,
            Err(s) => return s,
        };
    }
    if at_end(i) {
        Scalar::Cut
    } else {
        Scalar::Ends(i)
    }
}

#[cfg(test)]
mod tests {
    use super::close_cut_object;

    fn closed(text: &str) -> Option<String> {
        close_cut_object(text.as_bytes()).map(|v| String::from_utf8(v).unwrap_or_default())
    }

    #[test]
    fn a_cut_is_closed_after_the_last_complete_member() {
        let cases = [
            (r#"{"a":"x","b":"y"#, r#"{"a":"x"}"#),
            (r#"{"a":"x","b":"#, r#"{"a":"x"}"#),
            (r#"{"a":"x","b"#, r#"{"a":"x"}"#),
            (r#"{"a":"x","#, r#"{"a":"x"}"#),
            (r#"{"a":"x""#, r#"{"a":"x"}"#),
            (r#"{"a":12"#, r#"{}"#),
            (r#"{"a":12,"b":tr"#, r#"{"a":12}"#),
            (r#"{"a":true"#, r#"{"a":true}"#),
            (r#"{"a":{"r":"pods","n":"de"#, r#"{"a":{"r":"pods"}}"#),
            (r#"{"a":{"#, r#"{"a":{}}"#),
            (r#"{"a":"x","l":["1.2.3.4","10."#, r#"{"a":"x"}"#),
            (
                r#"{"a":"x","l":["1"],"o":{"k":[{"x":1}],"m":"q\u00"#,
                r#"{"a":"x","l":["1"],"o":{"k":[{"x":1}]}}"#,
            ),
            (r#"{"a":"x\"y\\","b":"\"#, r#"{"a":"x\"y\\"}"#),
            (r#"{"a":-1.5e+3,"b":-"#, r#"{"a":-1.5e+3}"#),
            (r#"{"a":1.5e"#, r#"{}"#),
            ("{", "{}"),
        ];
        for (cut, want) in cases {
            assert_eq!(closed(cut).as_deref(), Some(want), "{cut}");
            let parsed: Result<sonic_rs::Value, _> = sonic_rs::from_str(want);
            assert!(parsed.is_ok(), "{want}");
        }
    }

    #[test]
    fn complete_or_invalid_text_is_not_salvaged() {
        for text in [
            r#"{"a":1}"#,
            r#"{"a":1} "#,
            r#"{"a":1}}"#,
            r#"{"a":1,,"b":"#,
            r#"{"a":01,"b":"#,
            r#"{"a":"x\q","b":"#,
            "{\"a\":\"x\u{1}\",\"b\":",
            r#"{"a":nul,"b":"#,
            r#"{"a":[1}"#,
            r#"{"a" 1,"#,
            r#"["a","#,
            "",
            "   ",
            r#"{"a":1.,"#,
        ] {
            assert_eq!(closed(text), None, "{text}");
        }
    }

    #[test]
    fn nesting_beyond_the_limit_is_not_salvaged() {
        let deep = "{\"a\":".repeat(crate::decoder::MAX_NESTING + 1);
        assert_eq!(closed(&deep), None);
        let ok = "{\"a\":".repeat(3);
        assert_eq!(closed(&ok).as_deref(), Some("{\"a\":{\"a\":{}}}"));
    }
}
