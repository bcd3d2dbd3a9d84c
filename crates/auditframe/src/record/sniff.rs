//! Sniffing a record's shape from the keys of its first level.

use super::*;

/// Which keys the first record has, for sniffing.
#[derive(Default)]
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
                "records" => k.records = true,
                "Message" => k.message = true,
                "items" => k.items = true,
                "log_s" => k.log_s = true,
                "properties" => k.properties = true,
                "AuditId" | "RequestUri" | "Verb" | "StageReceivedTime" | "RequestReceivedTime" => {
                    k.pascal_event = true
                }
                "auditID"
                | "requestURI"
                | "verb"
                | "stage"
                | "stageTimestamp"
                | "requestReceivedTimestamp" => k.native_event = true,
                _ => {}
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

/// Guesses the shape of a record (the first of an input). `None` if it is not JSON or
/// matches no shape.
pub fn sniff_shape(record: &[u8]) -> Option<Shape> {
    if crate::framing::too_deep(record).is_some() {
        return None;
    }
    if first_non_ws(record) == Some(b'[') {
        let items = sonic_rs::from_slice::<Vec<LazyValue<'_>>>(record).ok()?;
        return sniff_shape(items.first()?.as_raw_str().as_bytes());
    }
    let mut k = Keys::default();
    run(record, SniffSeed(&mut k)).ok()?;
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
