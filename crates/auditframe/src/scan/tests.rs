//! The scanner against naive references: escapes, strings and tokens at both levels.

use super::*;
use proptest::prelude::*;

/// Escaped bytes by a byte-at-a-time reading.
fn naive_escaped(b: &[u8]) -> Vec<bool> {
    let mut out = vec![false; b.len()];
    let mut esc = false;
    for (i, &c) in b.iter().enumerate() {
        out[i] = esc;
        esc = !esc && c == b'\\';
    }
    out
}

fn tokens(b: &[u8]) -> Option<Vec<u32>> {
    let mut ix = Index::default();
    ix.build(b)?;
    Some(ix.toks().to_vec())
}

/// Tokens by a byte-at-a-time reading of valid JSON.
fn naive_tokens(b: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let (mut in_str, mut esc, mut in_scalar) = (false, false, false);
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
                out.push(i as u32);
            }
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                in_scalar = false;
                out.push(i as u32);
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                in_scalar = false;
                out.push(i as u32);
            }
            b' ' | b'\t' | b'\n' | b'\r' => in_scalar = false,
            _ => {
                if !in_scalar {
                    out.push(i as u32);
                }
                in_scalar = true;
            }
        }
    }
    out
}

#[test]
fn escapes_across_blocks() {
    for n in 0..140 {
        for tail in [b'"', b'a', b'\\'] {
            let mut b = vec![b'x'; 3];
            b.extend(std::iter::repeat_n(b'\\', n));
            b.push(tail);
            b.extend_from_slice(b"yz");
            let mut masks = Vec::new();
            classify(&b, &mut masks);
            let mut carry = 0;
            let got: Vec<u64> = masks
                .iter()
                .map(|m| escapes(m.backslash, &mut carry).0)
                .collect();
            let want = naive_escaped(&b);
            for (i, &w) in want.iter().enumerate() {
                assert_eq!(bit(&got, i), w, "n={n} i={i}");
            }
        }
    }
}

#[test]
fn tokens_of_a_record() {
    let rec = br#"{"a":"x\"y","b":[1, -2.5e3, true,null],"c":{"d":"\\"}}"#;
    assert_eq!(tokens(rec), Some(naive_tokens(rec)));
    // Strings that span blocks, escapes at block edges.
    let long = format!(
        r#"{{"k":"{}\"{}","n":{}}}"#,
        "a".repeat(62),
        "\\\\".repeat(40),
        "1".repeat(70)
    );
    assert_eq!(tokens(long.as_bytes()), Some(naive_tokens(long.as_bytes())));
}

#[test]
fn byte_level_errors_give_up() {
    for bad in [
        &br#"{"a":"x"#[..],                                            // unclosed string
        br#"{"a":"x\qy"}"#,                                            // bad escape
        b"{\"a\":\"x\x01\"}",                                          // control byte in a string
        b"{\"a\":1\x01}",                                              // control byte outside
        b"{\"a\":\"x\ty\"}",                                           // tab in a string
        b"{\"a\":\"x\ny\"}",                                           // line feed in a string
        b"{\"a\":1\x0c}",                                              // taken for `,` by SIMD
        b"{\"a\"\x1a1}",                                               // taken for `:` by SIMD
        br#"{"a":"\u12"}"#,                                            // short \u
        br#"{"a":"\ud83d"}"#,                                          // lone high surrogate
        br#"{"a":"\ude00"}"#,                                          // lone low surrogate
        br#"{"a":"\\ude00"}"#.as_slice().get(..0).unwrap_or_default(), // placeholder, valid empty
        b"{\"a\":\"\xff\"}",                                           // invalid UTF-8
    ] {
        if bad.is_empty() {
            continue;
        }
        assert!(tokens(bad).is_none(), "{}", String::from_utf8_lossy(bad));
    }
    // Whitespace control bytes outside strings are fine.
    let spaced = b"{\"a\":\t1,\r\n\"b\" :\n[ ]}\n";
    assert_eq!(tokens(spaced), Some(naive_tokens(spaced)));
    // A surrogate pair, and an escaped backslash before `u`, are fine.
    assert!(tokens(br#"{"a":"\ud83d\ude00","b":"\\ude00"}"#).is_some());
}

/// The escaped form of `s` as the content of a JSON string.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

fn nested_tokens(inner: &str) -> Option<Vec<u32>> {
    let raw = escape(inner);
    let mut ix = Index::default();
    ix.build_nested(raw.as_bytes())?;
    // Map each token back to the inner text: count the visible bytes before it.
    let mut map = Vec::new();
    let mut vis = 0u32;
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            map.push(u32::MAX); // introducer
            i += 1;
        }
        map.push(vis);
        vis += 1;
        i += 1;
    }
    Some(ix.toks().iter().map(|&t| map[t as usize]).collect())
}

#[test]
fn nested_tokens_equal_the_decoded_texts() {
    // Outer `\n` outside inner strings is whitespace (archive events end in one).
    let mut ix = Index::default();
    assert!(ix.build_nested(br#"{\"a\":1}\n"#).is_some());
    assert_eq!(ix.toks(), vec![0, 2, 5, 6, 7, 8]);
    for inner in [
        r#"{"a":"x","b":[1,2,{"c":null}],"d":"q\"uo\\te\\","e":"\u0026\n\/"}"#,
        r#"{"k":"\\\"","l":"\\\\\"x"}"#,
        r#"  {"a" : "b" }  "#,
    ] {
        assert_eq!(
            nested_tokens(inner),
            Some(naive_tokens(inner.as_bytes())),
            "{inner}"
        );
    }
}

#[test]
fn nested_gives_up_on_what_it_does_not_read_in_place() {
    let mut ix = Index::default();
    for raw in [
        r#"{\"a\":\"x\ny\"}"#,           // outer \n
        r#"{\"a\":\"\u0041\"}"#,         // outer \u
        r#"{\"a\":\/}"#,                 // outer \/
        r#"{\"a\":\\\"}"#,               // an inner backslash outside a string
        r#"{\"a\":\"\\ud83d\\ude00\"}"#, // inner surrogates
        r#"{\"a\":\"x}"#,                // unclosed inner string
        r#"{\"a\":\"\\q\"}"#,            // bad inner escape
    ] {
        assert!(ix.build_nested(raw.as_bytes()).is_none(), "{raw}");
    }
}

fn json_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\\"".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(":".to_owned()),
            Just(",".to_owned()),
            Just(" ".to_owned()),
            Just("a".repeat(30)),
            Just("12".to_owned()),
            Just("é".to_owned()),
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

fn is_json(s: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(s).is_ok()
}

/// Valid JSON values whose strings are full of quotes, backslashes and escapes.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[a-z\\\"/\n\t é😀&<]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z\\\"]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Valid JSON is accepted and tokenised like the naive reading, compact or spaced.
    #[test]
    fn index_equals_naive_reading_on_valid_json(v in json_value(), pretty in any::<bool>()) {
        // Pretty: line feeds, CR LF and tab indents outside strings (strings hold control
        // bytes only escaped), the records that have control bytes and so their masks.
        let s = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
        let s = s.unwrap_or_default().replace("\n  ", "\r\n\t");
        prop_assert_eq!(tokens(s.as_bytes()), Some(naive_tokens(s.as_bytes())), "{}", s);
    }

    /// JSON text escaped inside a string is indexed in place with the tokens of the text
    /// (or given up on, for escapes this level does not read in place).
    #[test]
    fn nested_index_equals_the_texts_index(v in json_value()) {
        let s = serde_json::to_string(&v).unwrap_or_default();
        if let Some(t) = nested_tokens(&s) {
            prop_assert_eq!(t, naive_tokens(s.as_bytes()), "{}", s);
        } else {
            // Only inner surrogate escapes give up; serde_json writes none (it writes UTF-8).
            prop_assert!(false, "gave up on {}", s);
        }
    }

    /// Near-JSON: whatever the index accepts that is valid JSON is tokenised like the naive
    /// reading, and nothing it accepts at level 1 differs from level 0.
    #[test]
    fn index_on_near_json(s in json_like()) {
        if is_json(&s) {
            prop_assert_eq!(tokens(s.as_bytes()), Some(naive_tokens(s.as_bytes())));
            if let Some(t) = nested_tokens(&s) {
                prop_assert_eq!(t, naive_tokens(s.as_bytes()), "{}", s);
            }
        }
    }
}

#[test]
fn blocks_dense_with_tokens_flatten_every_one() {
    // Up to 64 tokens per block: every count a block-at-a-time flatten stores in pieces
    // (≤ 8, ≤ 16, then one by one; or ≤ 16, ≤ 32, ≤ 48, ≤ 64 with AVX-512), at every offset,
    // then blocks with few tokens again.
    for lead in 0..64 {
        let mut s = " ".repeat(lead);
        s.push('[');
        for i in 0..400 {
            s.push_str(if i % 3 == 0 { "[]," } else { "1," });
        }
        s.push_str(r#""x ", {"k" : "long string without tokens inside it at all, none"}]"#);
        let b = s.as_bytes();
        assert_eq!(tokens(b), Some(naive_tokens(b)), "lead {lead}");
        #[cfg(target_arch = "x86_64")]
        if let Some((r, toks)) = x86_passes::tokens_with_scalar_flatten(b) {
            assert_eq!(r, Some(()));
            assert_eq!(toks, naive_tokens(b), "lead {lead}");
        }
    }
}

/// The portable token passes, bypassing the run-time choice of CPU instructions.
fn portable(b: &[u8], nested: bool) -> (Option<()>, Vec<u32>) {
    let mut ix = Index::default();
    ix.classify(b);
    ix.toks.reset(b.len());
    let r = if nested {
        ix.nested_tokens::<Portable>(b, None)
    } else {
        ix.tokens::<Portable, false>(b)
    };
    (r, ix.toks.as_slice().to_vec())
}

/// Large records get a token buffer sized by the masks' bound: dense near-JSON (a token per
/// byte, scalars right after quotes, escapes) still indexes exactly like the portable pass
/// with a token per byte of room.
#[test]
fn large_records_fit_their_token_bound() {
    let units = [
        "1,",
        "[],",
        "{\"a\":1},",
        "\"x\"1",
        "\"\\\"\"",
        " 1 ",
        "\"s\",",
        "[1,2,[3,[4]]],",
        "truefalse",
    ];
    for unit in units {
        let mut s = String::from("[");
        while s.len() < 70 << 10 {
            s.push_str(unit);
        }
        s.push_str("0]");
        let b = s.as_bytes();
        let mut ix = Index::default();
        let got = ix.build(b);
        let (want, toks) = portable(b, false);
        assert_eq!(got, want, "{unit}");
        assert_eq!(ix.toks(), &toks[..], "{unit}");
        assert!(token_bound(&ix.masks) >= toks.len(), "{unit}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The bound on a record's tokens holds on any near-JSON, valid or not.
    #[test]
    fn token_bound_holds(s in json_like()) {
        let b = s.as_bytes();
        let (_, toks) = portable(b, false);
        let mut masks = Vec::new();
        classify(b, &mut masks);
        prop_assert!(token_bound(&masks) >= toks.len());
    }

    /// Whatever pass `build` picks on this CPU (carry-less multiply on most x86-64) gives
    /// the portable pass's answer, on any near-JSON at both levels.
    #[test]
    fn cpu_specific_passes_equal_the_portable_ones(s in json_like()) {
        let b = s.as_bytes();
        let mut ix = Index::default();
        let got = ix.build(b);
        let (want, toks) = portable(b, false);
        prop_assert_eq!(got, want);
        if got.is_some() {
            prop_assert_eq!(ix.toks(), &toks[..]);
        }
        let got = ix.build_nested(b);
        let (want, toks) = portable(b, true);
        prop_assert_eq!(got, want);
        if got.is_some() {
            prop_assert_eq!(ix.toks(), &toks[..]);
        }
        // The scalar flatten, which `build` skips on CPUs with AVX-512's.
        #[cfg(target_arch = "x86_64")]
        if let Some((got, got_toks)) = x86_passes::tokens_with_scalar_flatten(b) {
            let (want, toks) = portable(b, false);
            prop_assert_eq!(got, want);
            if got.is_some() {
                prop_assert_eq!(got_toks, toks);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// JSON text indexed in its record's frame (the record's classes and escapes) is indexed
    /// exactly as when classified on its own — the same tokens, shifted by where the text
    /// starts in its first block — at any offset in the record, and reads the same strings.
    #[test]
    fn nested_index_in_the_records_frame(v in json_value(), pad in 0usize..200) {
        let text = serde_json::to_string(&v).unwrap_or_default();
        let record = serde_json::json!({ "pad": "p".repeat(pad), "log": text, "after": 1 });
        let record = serde_json::to_string(&record).unwrap_or_default();
        let escaped = serde_json::to_string(&text).unwrap_or_default();
        let content = &escaped[1..escaped.len() - 1];
        let at = record.find(content).unwrap_or_default();
        let b = record.as_bytes();
        let raw = &b[at..at + content.len()];
        let mut outer = Index::default();
        prop_assert!(outer.build_keeping(b, true).is_some());
        let mut fresh = Index::default();
        let want = fresh.build_nested(raw);
        let mut framed = Index::default();
        let got = framed.build_nested_in(&outer, b, raw);
        prop_assert_eq!(got.is_some(), want.is_some());
        let Some(frame) = got else { return Ok(()) };
        prop_assert_eq!(frame.as_ptr() as usize % 64, b.as_ptr() as usize % 64);
        let lo = (at % 64) as u32;
        let shifted: Vec<Option<u32>> = framed.toks().iter().map(|&t| t.checked_sub(lo)).collect();
        let fresh_toks: Vec<Option<u32>> = fresh.toks().iter().map(|&t| Some(t)).collect();
        prop_assert_eq!(shifted, fresh_toks);
        let (mut got_strings, mut want_strings) = (Vec::new(), Vec::new());
        let mut c = framed.cursor(frame).ok_or_else(|| TestCaseError::fail("no cursor"))?;
        let read = strings_read(&mut c, &mut got_strings);
        let mut c = fresh.cursor(raw).ok_or_else(|| TestCaseError::fail("no cursor"))?;
        prop_assert_eq!(read, strings_read(&mut c, &mut want_strings));
        prop_assert_eq!(got_strings, want_strings);
    }
}

/// Near-JSON for the grammar: every token kind, misspelt numbers and literals, brackets of
/// both kinds in any order.
fn grammar_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{"),
            Just("}"),
            Just("["),
            Just("]"),
            Just(":"),
            Just(","),
            Just(" "),
            Just("\n"),
            Just("\"k\""),
            Just("\"\""),
            Just("1"),
            Just("-0"),
            Just("01"),
            Just("1.5"),
            Just("1."),
            Just("-"),
            Just("2e-3"),
            Just("true"),
            Just("tru"),
            Just("truex"),
            Just("null"),
            Just("nul"),
            Just("false"),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

/// The escaped form of `s` as a JSON string's content, newlines as `\n` escapes.
fn escape_with_newlines(s: &str) -> String {
    escape(s).replace('\n', "\\n")
}

/// Indexes `b` (as JSON text escaped in a string when `nested`) and skips one value with
/// the cursor, which checks its grammar: `Some` when it ends exactly at the end.
fn walks(b: &[u8], nested: bool) -> Option<()> {
    let mut ix = Index::default();
    if nested {
        ix.build_nested(b)?;
    } else {
        ix.build(b)?;
    }
    let mut c = ix.cursor(b)?;
    c.skip_value()?;
    c.at_end().then_some(())
}

#[test]
fn grammar_errors_give_up() {
    let bad: [&[u8]; 17] = [
        b"{",
        b"}",
        b"{\"a\" 1}",
        b"{\"a\":}",
        b"{\"a\":1,}",
        b"[1,]",
        b"[1 2]",
        b"{\"a\":1]",
        b"[}",
        b"{1:2}",
        b"{\"a\":01}",
        b"{\"a\":1.}",
        b"{\"a\":tru}",
        b"{\"a\":nulll}",
        b"{} {}",
        b"\"a\" \"b\"",
        b"",
    ];
    let good: [&[u8]; 5] = [b"{}", b"[]", b"1", b"\"a\"", b" [ {\"a\" : [ ] } , null ] "];
    let cases = bad
        .iter()
        .map(|b| (b, false))
        .chain(good.iter().map(|b| (b, true)));
    for (b, valid) in cases {
        let walked = walks(b, false).is_some();
        assert_eq!(walked, valid, "{}", String::from_utf8_lossy(b));
    }
}

#[test]
fn nesting_limit_is_the_serde_paths() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let max = crate::decode::MAX_NESTING;
    assert!(walks(deep(max).as_bytes(), false).is_some());
    assert!(walks(deep(max + 1).as_bytes(), false).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Indexing and skipping a value accept near-JSON exactly when serde_json does, at
    /// both levels.
    #[test]
    fn skipping_checks_the_grammar_like_serde(s in grammar_like()) {
        let valid = is_json(&s);
        prop_assert_eq!(walks(s.as_bytes(), false).is_some(), valid, "{}", s);
        let raw = escape_with_newlines(&s);
        prop_assert_eq!(walks(raw.as_bytes(), true).is_some(), valid, "{}", raw);
    }
}

/// Every key and string of the value at the cursor, in order, read with the cursor. `None`
/// when it gives up (an escaped key).
fn strings_read(c: &mut Cursor<'_, '_>, out: &mut Vec<String>) -> Option<()> {
    match c.peek()? {
        b'"' => out.push(c.string()?.into_owned()),
        b'{' => c.object(&mut |c, k| {
            out.push(String::from_utf8(k.to_vec()).ok()?);
            strings_read(c, out)
        })?,
        b'[' => c.array(|c| strings_read(c, out))?,
        _ => c.skip_value()?,
    }
    Some(())
}

/// Whether any key of `v` is written with escapes.
fn escaped_key(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.contains(['"', '\\']) || escaped_key(v)),
        serde_json::Value::Array(a) => a.iter().any(escaped_key),
        _ => false,
    }
}

/// Every key and string of `v`, in serialisation order.
fn strings_of(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                strings_of(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| strings_of(v, out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Strings read with the cursor, at both levels, equal serde_json's, wherever in the
    /// record the first escape is (before it, strings are borrowed without a look at their
    /// backslash bits).
    #[test]
    fn cursor_reads_the_strings_serde_reads(v in json_value(), lead in "[a-z\\\\\"]{0,4}") {
        let v = serde_json::json!({ "lead": lead, "v": v });
        let text = serde_json::to_string(&v).unwrap_or_default();
        let mut want = Vec::new();
        strings_of(&v, &mut want);
        let keys_plain = !escaped_key(&v);
        let mut ix = Index::default();
        prop_assert!(ix.build(text.as_bytes()).is_some());
        let mut c = ix.cursor(text.as_bytes()).ok_or_else(|| TestCaseError::fail("no cursor"))?;
        let mut got = Vec::new();
        match strings_read(&mut c, &mut got) {
            Some(()) => prop_assert_eq!(&got, &want, "{}", text),
            None => prop_assert!(!keys_plain, "gave up on {}", text),
        }
        let raw = escape(&text);
        if ix.build_nested(raw.as_bytes()).is_some() {
            let mut c = ix.cursor(raw.as_bytes()).ok_or_else(|| TestCaseError::fail("no cursor"))?;
            let mut got = Vec::new();
            if strings_read(&mut c, &mut got).is_some() {
                prop_assert_eq!(&got, &want, "{}", raw);
            }
        }
    }
}
