//! The frame validator: the facts-only extract of the official frame schema
//! (`crates/model/tests/data/webmessaging-schema.json`, read at run time), the envelope
//! against `BaseMessage`, the body against the definition its `class` names.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Validators built from the schema extract, one per definition a frame refers to.
pub(crate) struct Schema {
    pub(crate) envelope: jsonschema::Validator,
    pub(crate) bodies: HashMap<String, jsonschema::Validator>,
    pub(crate) classes: Vec<String>,
}

pub(crate) fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../model/tests/data/webmessaging-schema.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let extract: Value = serde_json::from_str(&text).unwrap();
            let definitions = extract["definitions"].clone();
            // Swagger 2 definitions are JSON Schema draft 4 (plus `nullable`, ignored here).
            let validator = |name: &str| {
                jsonschema::draft4::new(&json!({
                    "definitions": definitions,
                    "$ref": format!("#/definitions/{name}"),
                }))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
            };
            let classes: Vec<String> = definitions["MessageDataType"]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            let bodies = classes
                .iter()
                .filter(|c| definitions.get(c.as_str()).is_some())
                .map(|c| (c.clone(), validator(c)))
                .collect();
            Arc::new(Schema {
                envelope: validator("BaseMessage"),
                bodies,
                classes,
            })
        })
        .clone()
}

/// Panics unless `frame` is a valid server frame by the schema.
pub(crate) fn validate(frame: &Value) {
    let s = schema();
    let class = frame["class"]
        .as_str()
        .unwrap_or_else(|| panic!("no class: {frame}"));
    assert!(
        s.classes.iter().any(|c| c == class),
        "class {class} not in MessageDataType"
    );
    let body = &frame["body"];
    let mut envelope = frame.clone();
    if class == "string" {
        assert!(
            body.is_string(),
            "class string with a non-string body: {frame}"
        );
        envelope["body"] = json!({});
    }
    let errors: Vec<String> = s
        .envelope
        .iter_errors(&envelope)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "envelope of {frame}: {errors:?}");
    if class != "string" {
        let v = s
            .bodies
            .get(class)
            .unwrap_or_else(|| panic!("no definition for {class}"));
        let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "body of {frame}: {errors:?}");
    }
}

#[test]
fn the_validator_refuses_frames_that_break_the_schema() {
    let bad = [
        json!({"type":"response","class":"SessionResponse","code":200,"body":{}}),
        json!({"type":"reply","class":"SessionResponse","code":200,"body":{"connected":true}}),
        json!({"type":"response","class":"Nope","code":200,"body":{}}),
        json!({"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":1.5,"errorCode":4029,"errorMessage":"x","name":"n","message":"m"}}),
        json!({"type":"response","class":"string","code":400,"body":{"text":"x"}}),
        json!({"type":"message","class":"StructuredMessage","code":200,"body":{"type":"Text","direction":"Sideways"}}),
    ];
    for frame in bad {
        let r = std::panic::catch_unwind(|| validate(&frame));
        assert!(r.is_err(), "accepted {frame}");
    }
    validate(
        &json!({"type":"response","class":"SessionResponse","code":200,"body":{"connected":true}}),
    );
}
