//! Contract test: the SDK's operation table, the models and the emulator router against the
//! REST contract of the guest chat API.
//!
//! The contract is `tests/data/rest-contract.json`: the facts (operations, parameters,
//! responses, models, fields, types, enum values) that `scripts/gen-contract.py` extracts from
//! the official JavaScript SDK's swagger.json. It is committed, so the test needs nothing outside
//! the repository; CI regenerates it when the swagger is at hand and fails if it changed.

use purecloud_guest_chat_client::*;
use serde_json::{json, Map, Value};

fn contract() -> Value {
    serde_json::from_str(include_str!("../data/rest-contract.json"))
        .expect("tests/data/rest-contract.json is JSON")
}

struct ContractOp {
    method: String,
    path: String,
    operation_id: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
    body: Option<String>,
    response: Option<String>,
    secured: bool,
}

fn ref_name(schema: &Value) -> Option<String> {
    schema
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn contract_ops(sw: &Value) -> Vec<ContractOp> {
    let mut out = Vec::new();
    for op in sw["operations"].as_array().expect("operations") {
        let path = op["path"].as_str().expect("path").to_owned();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let names = |kind: &str| -> Vec<String> {
            params
                .iter()
                .filter(|p| p["in"] == kind)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut path_params = names("path");
        // template order
        path_params.sort_by_key(|n| path.find(&format!("{{{n}}}")).unwrap_or(usize::MAX));
        let body = params.iter().find(|p| p["in"] == "body").and_then(ref_name);
        let response = op["responses"]
            .as_object()
            .and_then(|r| {
                r.iter()
                    .find(|(code, _)| code.starts_with('2'))
                    .map(|(_, v)| v.clone())
            })
            .and_then(|r| ref_name(&r));
        out.push(ContractOp {
            method: op["method"].as_str().expect("method").to_owned(),
            path,
            operation_id: op["operationId"].as_str().unwrap().to_owned(),
            path_params,
            query_params: names("query"),
            body,
            response,
            secured: op["auth"].as_bool().expect("auth"),
        });
    }
    out
}

#[test]
fn sdk_operation_table_matches_the_contract() {
    let sw = contract();
    let ops = contract_ops(&sw);
    assert_eq!(ops.len(), 11, "the contract has 11 operations");
    let mut problems = Vec::new();
    for op in &ops {
        let Some(sdk) = OPERATIONS
            .iter()
            .find(|s| s.operation_id == op.operation_id)
        else {
            problems.push(format!("{}: missing from the SDK", op.operation_id));
            continue;
        };
        let mut check = |what: &str, sdk: String, sw: String| {
            if sdk != sw {
                problems.push(format!(
                    "{}: {what}: SDK {sdk} vs contract {sw}",
                    op.operation_id
                ));
            }
        };
        check("method", sdk.method.to_string(), op.method.clone());
        check("path", sdk.path.into(), op.path.clone());
        check(
            "path params",
            format!("{:?}", sdk.path_params),
            format!("{:?}", op.path_params),
        );
        check(
            "query params",
            format!("{:?}", sdk.query_params),
            format!("{:?}", op.query_params),
        );
        check("body", format!("{:?}", sdk.body), format!("{:?}", op.body));
        check(
            "response",
            format!("{:?}", sdk.response),
            format!("{:?}", op.response),
        );
        check("auth", sdk.requires_jwt.to_string(), op.secured.to_string());
    }
    for sdk in OPERATIONS {
        if !ops.iter().any(|o| o.operation_id == sdk.operation_id) {
            problems.push(format!(
                "{}: in the SDK but not in the contract",
                sdk.operation_id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A value for every property of `def`, recursively (`$ref`s expanded up to `depth`).
fn sample(sw: &Value, schema: &Value, depth: usize) -> Option<Value> {
    if let Some(name) = ref_name(schema) {
        if depth == 0 {
            return None;
        }
        return Some(sample_model(sw, &name, depth - 1));
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.first().cloned();
    }
    Some(match schema["type"].as_str() {
        Some("string") if schema["format"] == "date-time" => json!("2020-08-05T13:09:49.546Z"),
        Some("string") => json!("s"),
        Some("integer") => json!(7),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array") => Value::Array(sample(sw, &schema["items"], depth).into_iter().collect()),
        Some("object") => match schema.get("additionalProperties") {
            Some(ap) => json!({ "k": sample(sw, ap, depth)? }),
            None => json!({}),
        },
        other => panic!("unhandled schema type {other:?} in {schema}"),
    })
}

fn sample_model(sw: &Value, name: &str, depth: usize) -> Value {
    let def = &sw["models"][name];
    let mut out = Map::new();
    for (prop, schema) in def["properties"].as_object().expect("properties") {
        if let Some(v) = sample(sw, schema, depth) {
            out.insert(prop.clone(), v);
        }
    }
    Value::Object(out)
}

/// Decodes `value` as `T` and encodes it again.
fn through<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) -> Value {
    let t: T = serde_json::from_value(value.clone()).expect("decodes");
    serde_json::to_value(t).expect("encodes")
}

fn through_model(name: &str, value: &Value) -> Option<Value> {
    macro_rules! models {
        ($($t:ident),*) => {
            match name {
                $( stringify!($t) => Some(through::<$t>(value)), )*
                _ => None,
            }
        };
    }
    models!(
        CreateWebChatConversationRequest,
        WebChatRoutingTarget,
        GuestMemberInfo,
        JourneyContext,
        JourneyCustomer,
        JourneyCustomerSession,
        JourneyAction,
        JourneyActionMap,
        CreateWebChatConversationResponse,
        WebChatMemberInfo,
        ErrorBody,
        Detail,
        Limit,
        WebChatGuestMediaRequest,
        WebChatGuestMediaRequestEntityList,
        WebChatTyping,
        WebChatConversation,
        CreateWebChatMessageRequest,
        WebChatMessage,
        WebChatMemberInfoEntityList,
        WebChatMessageEntityList
    )
}

fn missing_keys(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    None => out.push(format!("{path}.{k}")),
                    Some(gv) => missing_keys(&format!("{path}.{k}"), wv, gv, out),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                missing_keys(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        (w, g) if w != g => out.push(format!("{path}: contract sample {w} came back as {g}")),
        _ => {}
    }
}

#[test]
fn every_model_field_is_in_the_sdk() {
    let sw = contract();
    let defs = sw["models"].as_object().expect("models");
    assert_eq!(defs.len(), 21, "the contract has 21 models");
    let mut problems = Vec::new();
    for name in defs.keys() {
        let full = sample_model(&sw, name, 3);
        match through_model(name, &full) {
            None => problems.push(format!("{name}: no such model in the SDK")),
            Some(back) => {
                let mut missing = Vec::new();
                missing_keys(name, &full, &back, &mut missing);
                problems.extend(missing);
                // and nothing the contract does not know
                let mut extra = Vec::new();
                missing_keys(name, &back, &full, &mut extra);
                problems.extend(extra.into_iter().map(|e| format!("extra: {e}")));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn emulator_routes_every_operation() {
    let sw = contract();
    let emu = guest_chat_emulator::Emulator::builder()
        .start()
        .await
        .expect("emulator");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |method: &str, path: &str| {
        let url = format!("{}{}", emu.base_url(), path);
        http.request(method.parse().unwrap(), url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body("{}")
    };
    // sanity: an unknown route is the router's 404 `not.found`
    let r = call("GET", "/api/v2/webchat/guest/nothing-here")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let mut problems = Vec::new();
    for op in contract_ops(&sw) {
        let mut path = op.path.clone();
        for p in &op.path_params {
            path = path.replace(&format!("{{{p}}}"), "00000000-0000-0000-0000-000000000001");
        }
        let r = call(&op.method, &path).send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let code = body["code"].as_str().unwrap_or("").to_owned();
        // Unauthenticated: 401 (protected) or 400 (create with an empty body). A 404
        // `not.found` or a 405 means the router does not know the route.
        if matches!(status, 404 | 405) || code.is_empty() {
            problems.push(format!(
                "{} {} ({}): answered {status} {body}",
                op.method, op.path, op.operation_id
            ));
        }
    }
    emu.shutdown().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
