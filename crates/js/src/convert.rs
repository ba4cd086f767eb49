//! Between JavaScript values and the SDK's types: arguments in, responses and errors out.

use crate::sdk::{ApiResponse, Error};
use js_sys::{Object, Reflect, JSON};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

/// Sets `obj[key] = value` (a plain object: cannot fail).
pub(crate) fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// A JavaScript `Error` named `GuestChatError` with a `kind` (and a `parameter`).
pub(crate) fn js_error(kind: &str, message: &str, parameter: Option<&str>) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("GuestChatError");
    let obj: &Object = error.as_ref();
    set(obj, "kind", kind);
    if let Some(p) = parameter {
        set(obj, "parameter", p);
    }
    error.into()
}

/// A required argument is missing: the official SDK's message, as an `Error` thrown at once.
pub(crate) fn missing(parameter: &str, operation: &str) -> JsValue {
    js_error(
        "invalidArgument",
        &format!("Missing the required parameter \"{parameter}\" when calling {operation}"),
        Some(parameter),
    )
}

/// A path id: a string or a number; `undefined`/`null` is a missing parameter.
pub(crate) fn id(value: &JsValue, parameter: &str, operation: &str) -> Result<String, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Err(missing(parameter, operation));
    }
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    if let Some(n) = value.as_f64() {
        return Ok(format_number(n));
    }
    Err(js_error(
        "invalidArgument",
        &format!("{parameter} must be a string when calling {operation}"),
        Some(parameter),
    ))
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A request body: an object (or a JSON string), decoded into the SDK's model.
pub(crate) fn body<T: DeserializeOwned>(value: &JsValue, operation: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Err(missing("body", operation));
    }
    let text = match value.as_string() {
        Some(s) => s,
        None => JSON::stringify(value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                js_error(
                    "invalidArgument",
                    &format!("body of {operation} cannot be serialised to JSON"),
                    Some("body"),
                )
            })?,
    };
    serde_json::from_str(&text).map_err(|e| {
        js_error(
            "invalidArgument",
            &format!("body of {operation} does not match its model: {e}"),
            Some("body"),
        )
    })
}

/// An optional property of an options object.
pub(crate) fn prop(options: &JsValue, key: &str) -> Option<JsValue> {
    if !options.is_object() {
        return None;
    }
    Reflect::get(options, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// An optional property that the official SDK sends as an empty value when falsy
/// (`0`, `false`, `''`): taken as absent, as the service does.
pub(crate) fn truthy_prop(options: &JsValue, key: &str) -> Option<JsValue> {
    prop(options, key).filter(wasm_bindgen::JsValue::is_truthy)
}

/// An integer option (a number or a numeric string).
pub(crate) fn int_prop(options: &JsValue, key: &str) -> Result<Option<i32>, JsValue> {
    let Some(v) = truthy_prop(options, key) else {
        return Ok(None);
    };
    let n = v
        .as_f64()
        .or_else(|| v.as_string().and_then(|s| s.trim().parse::<f64>().ok()));
    match n {
        Some(n) if n.fract() == 0.0 && n >= f64::from(i32::MIN) && n <= f64::from(i32::MAX) => {
            Ok(Some(n as i32))
        }
        _ => Err(js_error(
            "invalidArgument",
            &format!("option {key} must be an integer"),
            Some(key),
        )),
    }
}

/// A string option (a `Date` becomes its ISO form).
pub(crate) fn string_prop(options: &JsValue, key: &str) -> Option<String> {
    let v = truthy_prop(options, key)?;
    if let Some(s) = v.as_string() {
        return Some(s);
    }
    if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        return d.to_iso_string().as_string();
    }
    JSON::stringify(&v)
        .ok()
        .and_then(|s| s.as_string())
        .map(|s| s.trim_matches('"').to_owned())
}

/// Response headers as a plain object (lower-case names, repeated values joined by `, `).
pub(crate) fn headers(map: &http::HeaderMap) -> JsValue {
    let obj = Object::new();
    for name in map.keys() {
        let joined = map
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        set(&obj, name.as_str(), joined);
    }
    obj.into()
}

/// A body as JavaScript: parsed JSON, else the text; `undefined` when empty.
pub(crate) fn parse_body(text: &str) -> JsValue {
    if text.trim().is_empty() {
        return JsValue::UNDEFINED;
    }
    JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
}

/// A successful answer: the body, or the extended response.
pub(crate) fn response<T>(r: &ApiResponse<T>, extended: bool) -> JsValue {
    let body = parse_body(&r.text);
    if !extended {
        return body;
    }
    let obj = Object::new();
    set(&obj, "status", r.status);
    set(&obj, "statusText", r.status_text.as_str());
    set(&obj, "headers", headers(&r.headers));
    set(&obj, "body", body);
    set(&obj, "text", r.text.as_str());
    if let Some(c) = r.correlation_id() {
        set(&obj, "correlationId", c);
    }
    obj.into()
}

/// A failed call: a non-2xx answer is its error body (extended: the whole answer), anything
/// else a `GuestChatError`. Every message is the SDK's, whose `Display` masks JWTs.
pub(crate) fn error(e: &Error, extended: bool) -> JsValue {
    if let Some(api) = e.as_api() {
        let body = parse_body(&api.text);
        if !extended {
            return body;
        }
        let obj = Object::new();
        set(&obj, "status", api.status);
        set(&obj, "statusText", api.status_text.as_str());
        set(&obj, "headers", headers(&api.headers));
        set(&obj, "body", body);
        set(&obj, "text", api.text.as_str());
        set(&obj, "error", js_sys::Error::new(&e.to_string()));
        if let Some(c) = &api.correlation_id {
            set(&obj, "correlationId", c.as_str());
        }
        return obj.into();
    }
    let (kind, parameter) = match e {
        Error::Timeout(_) => ("timeout", None),
        Error::Connect(_) => ("connect", None),
        Error::Decode { .. } => ("decode", None),
        Error::InvalidArgument { name, .. } => ("invalidArgument", Some(*name)),
        Error::InvalidEnvironment(_) => ("invalidEnvironment", None),
        Error::MissingJwt { .. } => ("missingJwt", None),
        Error::Tls(_) => ("tls", None),
        Error::Transport(_) => ("transport", None),
        Error::EventStream(_) => ("eventStream", None),
        Error::DeliveryUnknown { .. } => ("deliveryUnknown", None),
        Error::WebMessaging(_) => ("webMessaging", None),
        _ => ("other", None),
    };
    js_error(kind, &e.to_string(), parameter)
}
