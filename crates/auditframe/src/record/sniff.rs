//! Sniffing a record's shape from the keys of its first level.

use super::*;

/// Which keys the first record has, for sniffing.
#[derive(Debug, Default, PartialEq)]
struct Keys {
    kind: Option<String>,
    records: bool,
    items: bool,
    log_s: bool,
    properties: bool,
    pascal_event: bool,
    native_event: bool,
    /// `Message` (an `AKSControlPlane` row).
    message: bool,
}

impl Keys {
    /// Notes a first-level key other than `kind` (whose value each walker reads itself).
    fn note(&mut self, key: &[u8]) {
        match key {
            b"records" => self.records = true,
            b"Message" => self.message = true,
            b"items" => self.items = true,
            b"log_s" => self.log_s = true,
            b"properties" => self.properties = true,
            b"AuditId"
            | b"RequestUri"
            | b"Verb"
            | b"StageReceivedTime"
            | b"RequestReceivedTime" => self.pascal_event = true,
            b"auditID"
            | b"requestURI"
            | b"verb"
            | b"stage"
            | b"stageTimestamp"
            | b"requestReceivedTimestamp" => self.native_event = true,
            _ => {}
        }
    }
}

struct SniffSeed<'f>(&'f mut Keys);

impl<'de> Visitor<'de> for SniffSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let k = self.0;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "kind" => {
                    k.kind = map
                        .next_value::<fields::OptStr<'de>>()
                        .ok()
                        .and_then(|s| s.0)
                        .map(|s| s.into_owned());
                    continue;
                }
                key => k.note(key.as_bytes()),
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for SniffSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// The first level's keys read by the structural scanner: its own depth bound, no
/// recursive parse, and nothing below the first level decoded — a multi-megabyte `EventList`
/// document costs one index build instead of a nesting pre-scan and a serde walk. `None`: the
/// serde walk decides (an escaped key, a `kind` that is neither a string nor null, anything
/// the scanner does not accept).
fn fast_keys(record: &[u8]) -> Option<Keys> {
    super::fast::walk_record(record, false, |c| {
        let mut k = Keys::default();
        c.object(&mut |c, key| {
            match key {
                b"kind" => {
                    k.kind = c.opt_str()?.map(std::borrow::Cow::into_owned);
                    return Some(());
                }
                key => k.note(key),
            }
            c.skip_value()
        })?;
        Some(k)
    })
}

/// The first level's keys by the serde walk, after the nesting guard.
fn serde_keys(record: &[u8]) -> Option<Keys> {
    if crate::framing::too_deep(record).is_some() {
        return None;
    }
    let mut k = Keys::default();
    run(record, SniffSeed(&mut k)).ok()?;
    Some(k)
}

/// Guesses the shape of a record (the first of an input). `None` if it is not JSON or
/// matches no shape.
pub fn sniff_shape(record: &[u8]) -> Option<Shape> {
    let k = match first_non_ws(record) {
        Some(b'[') => {
            if crate::framing::too_deep(record).is_some() {
                return None;
            }
            let items = sonic_rs::from_slice::<Vec<LazyValue<'_>>>(record).ok()?;
            return sniff_shape(items.first()?.as_raw_str().as_bytes());
        }
        Some(b'{') => fast_keys(record).or_else(|| serde_keys(record))?,
        _ => serde_keys(record)?,
    };
    if k.records {
        Some(Shape::EventHub)
    } else if k.kind.as_deref() == Some("EventList") || (k.items && !k.native_event) {
        Some(Shape::EventList)
    } else if k.log_s {
        Some(Shape::AzureDiagnostics)
    } else if k.properties && !k.native_event {
        Some(Shape::Archive)
    } else if k.pascal_event || k.message {
        Some(Shape::AksAudit)
    } else if k.native_event || k.kind.as_deref() == Some("Event") {
        Some(Shape::Native)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorOptions};

    /// The scanner's key reader gives up or agrees with the serde walk, on every shape the
    /// generator writes and on hand-made edge cases; where it gives up, the serde walk still
    /// decides (so `sniff_shape` is unchanged).
    #[test]
    fn fast_keys_agree_with_the_serde_walk() {
        let mut records: Vec<Vec<u8>> = [
            r#"{"kind":"EventList","items":[{"kind":"Event","verb":"get"}]}"#,
            r#"{"kind":"Event","kind":"EventList","items":null}"#,
            r#"{"kind":null,"items":[],"auditID":"a"}"#,
            r#" { "records" : [ ] , "Message" : 1 } "#,
            r#"{"log_s":"{\"verb\":\"get\"}","properties":{"log":"x"},"AuditId":1}"#,
            r#"{"Verb":"get","RequestUri":"/","inner":{"kind":"EventList","items":[]}}"#,
            r#"{"ki\u006ed":"EventList","items":[]}"#,
            r#"{"kind":5,"items":[]}"#,
            r#"{"kind":"Event\u004cist","verb":"get"}"#,
            r#"{"kind":"Event","verb":"get"} trailing"#,
            r#"{"kind":"Event","verb":"get""#,
            r#"{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
            r#"{}"#,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for &shape in Shape::ALL {
            let mut out = Vec::new();
            Generator::new(GeneratorOptions::default().with_events(20).with_seed(9))
                .write(shape, &mut out);
            records.extend(crate::framing::lines(&out).map(|(_, l)| l.to_vec()));
        }
        let mut fast_read = 0;
        for r in &records {
            let serde = serde_keys(r);
            if let Some(fast) = fast_keys(r) {
                fast_read += 1;
                assert_eq!(Some(fast), serde, "{}", String::from_utf8_lossy(r));
            }
        }
        // Most records are read by the scanner; the escaped key, the numeric kind, the bad
        // tails and the deep array are not.
        assert!(
            fast_read >= records.len() - 6,
            "{fast_read} of {}",
            records.len()
        );
        assert_eq!(
            sniff_shape(br#"{"kind":"Event\u004cist","verb":"get"}"#),
            Some(Shape::EventList)
        );
        assert_eq!(
            sniff_shape(br#"{"ki\u006ed":"EventList","items":[]}"#),
            Some(Shape::EventList)
        );
        assert_eq!(
            sniff_shape(br#"{"kind":"Event","verb":"get"} trailing"#),
            None
        );
    }
}
