//! Textual object paths: how a reference value is held in a [`PropertyValue::Reference`].
//!
//! The rendering follows the untyped WBEM URI form of DSP0207 and the CIM-XML object-path
//! elements of DSP0201 one to one:
//!
//! | CIM-XML inside `VALUE.REFERENCE`        | text                                 |
//! |-----------------------------------------|--------------------------------------|
//! | `INSTANCEPATH` (`NAMESPACEPATH` + name) | `//host/ns1/ns2:Class.Key="v",N=5`   |
//! | `LOCALINSTANCEPATH`                     | `/ns1/ns2:Class.Key="v"`             |
//! | `INSTANCENAME` with `KEYBINDING`s       | `Class.Key="v",Flag=TRUE`            |
//! | `INSTANCENAME` with one bare `KEYVALUE` | `Class="v"`                          |
//! | `INSTANCENAME` with no keys (singleton) | `Class=@` (the WMI spelling)         |
//! | `CLASSPATH` / `LOCALCLASSPATH`          | `//host/ns:Class` / `/ns:Class`      |
//! | `CLASSNAME`                             | `Class`                              |
//!
//! String key values are quoted, with `\` and `"` escaped by a backslash; boolean and numeric
//! key values are written bare, as their text appeared. A key whose value is itself a
//! reference (`KEYBINDING` holding `VALUE.REFERENCE`) is rendered as a quoted string holding
//! the nested path, which is also how it is written back (as a string `KEYVALUE`).
//!
//! A reference value is *valid* when it parses under this grammar and renders back to exactly
//! the same text (its canonical form); only valid references round-trip through CIM-XML.
//!
//! [`PropertyValue::Reference`]: super::PropertyValue::Reference

use super::lexical;

/// The kind and text of one key value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyValue {
    /// `VALUETYPE="string"` (the default).
    String(String),
    /// `VALUETYPE="boolean"`: the trimmed text as it appeared.
    Boolean(String),
    /// `VALUETYPE="numeric"`: the trimmed text as it appeared.
    Numeric(String),
}

impl KeyValue {
    pub(crate) fn value_type(&self) -> &'static str {
        match self {
            KeyValue::String(_) => "string",
            KeyValue::Boolean(_) => "boolean",
            KeyValue::Numeric(_) => "numeric",
        }
    }

    pub(crate) fn text(&self) -> &str {
        match self {
            KeyValue::String(t) | KeyValue::Boolean(t) | KeyValue::Numeric(t) => t,
        }
    }

    fn render(&self, out: &mut String) {
        match self {
            KeyValue::String(text) => {
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            KeyValue::Boolean(text) | KeyValue::Numeric(text) => out.push_str(text),
        }
    }
}

/// Whether `text` is a valid bare (numeric) key value.
pub(crate) fn is_numeric_key(text: &str) -> bool {
    lexical::parse_integer(text).is_ok() || lexical::is_decimal_real(text)
}

/// What follows the class name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Keys {
    /// A class path: no key part at all.
    Class,
    /// An instance of a keyless (singleton) class: `=@`.
    Singleton,
    /// One bare key value: `="v"`.
    Single(KeyValue),
    /// Named key bindings: `.K1="v",K2=5`.
    Bindings(Vec<(String, KeyValue)>),
}

/// A parsed object path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObjectPath {
    /// Host (with optional port); only with a namespace.
    pub(crate) host: Option<String>,
    /// Namespace components; empty for a bare instance or class name.
    pub(crate) namespace: Vec<String>,
    pub(crate) class: String,
    pub(crate) keys: Keys,
}

impl ObjectPath {
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some(host) = &self.host {
            out.push_str("//");
            out.push_str(host);
        }
        if !self.namespace.is_empty() {
            for ns in &self.namespace {
                out.push('/');
                out.push_str(ns);
            }
            out.push(':');
        }
        out.push_str(&self.class);
        match &self.keys {
            Keys::Class => {}
            Keys::Singleton => out.push_str("=@"),
            Keys::Single(value) => {
                out.push('=');
                value.render(&mut out);
            }
            Keys::Bindings(bindings) => {
                for (i, (name, value)) in bindings.iter().enumerate() {
                    out.push(if i == 0 { '.' } else { ',' });
                    out.push_str(name);
                    out.push('=');
                    value.render(&mut out);
                }
            }
        }
        out
    }
}

/// Whether `host` is acceptable as the text of a `HOST` element.
pub(crate) fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '/' | '"' | '\\'))
}

/// Parses a path in the form [`ObjectPath::render`] writes.
pub(crate) fn parse(text: &str) -> Result<ObjectPath, String> {
    let mut rest = text;
    let mut host = None;
    if let Some(after) = rest.strip_prefix("//") {
        let end = after
            .find('/')
            .ok_or("a path with a host needs a namespace (//host/ns:Class)")?;
        let (h, tail) = after.split_at(end);
        if !is_host(h) {
            return Err(format!("{h:?} is not a valid host"));
        }
        host = Some(h.to_string());
        rest = tail;
    }
    let mut namespace = Vec::new();
    if let Some(after) = rest.strip_prefix('/') {
        let end = after
            .find(':')
            .ok_or("a namespace path must end in ':' before the class name")?;
        let (ns, tail) = after.split_at(end);
        for component in ns.split('/') {
            if !lexical::is_identifier(component) {
                return Err(format!(
                    "namespace component {component:?} is not a CIM name"
                ));
            }
            namespace.push(component.to_string());
        }
        rest = tail.get(1..).unwrap_or("");
    }
    let class_end = rest.find(['.', '=']).unwrap_or(rest.len());
    let (class, mut rest) = rest.split_at(class_end);
    if !lexical::is_identifier(class) {
        return Err(format!("class name {class:?} is not a CIM name"));
    }
    let keys = if rest.is_empty() {
        Keys::Class
    } else if rest == "=@" {
        Keys::Singleton
    } else if let Some(after) = rest.strip_prefix('=') {
        let (value, tail) = parse_key_value(after)?;
        if !tail.is_empty() {
            return Err(format!("unexpected {tail:?} after the key value"));
        }
        Keys::Single(value)
    } else {
        rest = rest.get(1..).unwrap_or("");
        let mut bindings = Vec::new();
        loop {
            let eq = rest.find('=').ok_or("a key binding needs '='")?;
            let (name, after) = rest.split_at(eq);
            if !lexical::is_identifier(name) {
                return Err(format!("key name {name:?} is not a CIM name"));
            }
            let (value, tail) = parse_key_value(after.get(1..).unwrap_or(""))?;
            bindings.push((name.to_string(), value));
            match tail.strip_prefix(',') {
                Some(next) => rest = next,
                None if tail.is_empty() => break,
                None => return Err(format!("unexpected {tail:?} after a key value")),
            }
        }
        Keys::Bindings(bindings)
    };
    Ok(ObjectPath {
        host,
        namespace,
        class: class.to_string(),
        keys,
    })
}

fn parse_key_value(text: &str) -> Result<(KeyValue, &str), String> {
    if let Some(body) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    return Ok((KeyValue::String(value), body.get(i + 1..).unwrap_or("")));
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => value.push(e),
                    _ => return Err("in a quoted key value only \\\" and \\\\ are escapes".into()),
                },
                c => value.push(c),
            }
        }
        return Err("unterminated quoted key value".into());
    }
    let end = text.find(',').unwrap_or(text.len());
    let (token, tail) = text.split_at(end);
    if lexical::parse_boolean(token).is_some() {
        Ok((KeyValue::Boolean(token.to_string()), tail))
    } else if is_numeric_key(token) {
        Ok((KeyValue::Numeric(token.to_string()), tail))
    } else {
        Err(format!(
            "key value {token:?} is neither quoted, TRUE/FALSE nor a number"
        ))
    }
}

/// Checks that `text` is a canonical object path (parses, and renders back to itself).
pub(crate) fn check_canonical(text: &str) -> Result<(), String> {
    let path = parse(text).map_err(|e| format!("not an object path: {e}"))?;
    if path.render() == text {
        Ok(())
    } else {
        Err("not in canonical object-path form (see the codec documentation)".into())
    }
}
