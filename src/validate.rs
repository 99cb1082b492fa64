//! Offline checks of a flow definition, as Allma's schema checks it (allma-admin-api.md
//! §5.1–5.3), and the references one definition makes to others.

use crate::load::tree::key_path;
use crate::model::Kind;
use serde::Serialize;
use serde_json::{Map, Value};

/// Every `stepType` Allma knows.
pub const STEP_TYPES: &[&str] = &[
    "NO_OP",
    "END_FLOW",
    "CUSTOM_LOGIC",
    "CUSTOM_LAMBDA_INVOKE",
    "DATA_LOAD",
    "DATA_SAVE",
    "DATA_TRANSFORMATION",
    "FILE_DOWNLOAD",
    "LLM_INVOCATION",
    "PARALLEL_FORK_MANAGER",
    "START_SUB_FLOW",
    "START_FLOW_EXECUTION",
    "API_CALL",
    "MCP_CALL",
    "WAIT_FOR_EXTERNAL_EVENT",
    "POLL_EXTERNAL_API",
    "SQS_SEND",
    "SNS_PUBLISH",
    "EMAIL",
    "EMAIL_START_POINT",
    "SCHEDULE_START_POINT",
];

const DEFINITION_FIELDS: &[&str] = &[
    "steps",
    "startStepInstanceId",
    "enableExecutionLogs",
    "defaultStepConfig",
    "onCompletionActions",
    "authoringSource",
];

const STEP_FIELDS: &[&str] = &[
    "stepInstanceId",
    "stepType",
    "stepDefinitionId",
    "displayName",
    "checkpoint",
    "position",
    "fill",
    "transitions",
    "defaultNextStepInstanceId",
    "defaultNextMaxTransitions",
    "delay",
    "disableS3Offload",
    "forceS3Offload",
    "inputMappings",
    "outputMappings",
    "literals",
    "customConfig",
    "onError",
    "moduleIdentifier",
    "lambdaFunctionArnTemplate",
    "payloadTemplate",
    "sourceUrlTemplate",
    "method",
    "headersTemplate",
    "destinationBucket",
    "destinationKeyTemplate",
    "llmProvider",
    "modelId",
    "promptTemplateId",
    "directPrompt",
    "templateContextMappings",
    "fallbacks",
    "mediaAttachments",
    "mediaAttachmentsPath",
    "tools",
    "toolsPath",
    "toolChoice",
    "inferenceParameters",
    "itemsPath",
    "parallelBranches",
    "aggregationConfig",
    "subFlowDefinitionId",
    "subFlowVersion",
    "subFlowExecutionMode",
    "inputMappingsToSubFlow",
    "flowDefinitionId",
    "flowVersion",
    "apiUrlTemplate",
    "apiHttpMethod",
    "apiHeadersTemplate",
    "apiStaticHeaders",
    "requestBodyTemplate",
    "mcpConnectionId",
    "toolName",
    "correlationKeyTemplate",
    "promptUserMessageTemplate",
    "messageSenderModuleIdentifier",
    "maxWaitTimeSeconds",
    "apiCallDefinition",
    "pollingConfig",
    "exitConditions",
    "queueUrl",
    "payload",
    "messageGroupId",
    "messageDeduplicationId",
    "topicArn",
    "messageAttributes",
    "from",
    "to",
    "subject",
    "body",
    "fromName",
    "cc",
    "bcc",
    "replyTo",
    "customHeaders",
    "attachments",
    "attachmentsPath",
    "emailAddress",
    "triggerMessagePattern",
    "keyword",
    "scheduleExpression",
    "timezone",
    "enabled",
];

/// Step types that must carry a `moduleIdentifier`, and those that must not.
const MODULE_REQUIRED: &[&str] = &[
    "CUSTOM_LOGIC",
    "DATA_LOAD",
    "DATA_SAVE",
    "DATA_TRANSFORMATION",
    "START_FLOW_EXECUTION",
    "SQS_SEND",
    "SNS_PUBLISH",
];
const MODULE_FORBIDDEN: &[&str] = &[
    "NO_OP",
    "END_FLOW",
    "CUSTOM_LAMBDA_INVOKE",
    "LLM_INVOCATION",
    "PARALLEL_FORK_MANAGER",
    "START_SUB_FLOW",
    "API_CALL",
    "WAIT_FOR_EXTERNAL_EVENT",
    "POLL_EXTERNAL_API",
    "EMAIL",
];

fn required_fields(step_type: &str) -> &'static [&'static str] {
    match step_type {
        "LLM_INVOCATION" => &["llmProvider", "modelId"],
        "START_SUB_FLOW" => &["subFlowDefinitionId"],
        "START_FLOW_EXECUTION" => &["flowDefinitionId"],
        "API_CALL" => &["apiUrlTemplate", "apiHttpMethod"],
        "CUSTOM_LAMBDA_INVOKE" => &["lambdaFunctionArnTemplate"],
        "FILE_DOWNLOAD" => &["sourceUrlTemplate"],
        "MCP_CALL" => &["mcpConnectionId", "toolName"],
        "WAIT_FOR_EXTERNAL_EVENT" => &["correlationKeyTemplate"],
        "POLL_EXTERNAL_API" => &["apiCallDefinition", "pollingConfig", "exitConditions"],
        "SQS_SEND" => &["queueUrl", "payload"],
        "SNS_PUBLISH" => &["topicArn", "payload"],
        "EMAIL" => &["from", "to", "subject", "body"],
        "EMAIL_START_POINT" => &["emailAddress"],
        "SCHEDULE_START_POINT" => &["scheduleExpression"],
        _ => &[],
    }
}

/// One thing wrong with a definition; `path` is relative to the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where, e.g. `steps.load.transitions[0].nextStepInstanceId`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// A warning does not fail validation.
    pub warning: bool,
}

/// A reference from a flow to another definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Kind of the referenced definition.
    pub kind: Kind,
    /// Its Allma id.
    pub id: String,
    /// Where the reference is, relative to the definition.
    pub path: String,
    /// Line of the reference in its file (0 until the loader fills it in).
    pub line: u64,
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn error(&mut self, path: String, message: String) {
        self.problems.push(Problem {
            path,
            message,
            warning: false,
        });
    }
    fn warn(&mut self, path: String, message: String) {
        self.problems.push(Problem {
            path,
            message,
            warning: true,
        });
    }
}

/// Checks a flow definition the way Allma's schema does; returns every problem found.
pub fn check_flow(def: &Map<String, Value>) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    for key in def.keys() {
        if let Some(hint) = misplaced_field(key) {
            c.error(
                key.clone(),
                format!("`{key}` does not belong in `definition`: {hint}"),
            );
        } else if !DEFINITION_FIELDS.contains(&key.as_str()) {
            c.error(key.clone(), unknown(key, DEFINITION_FIELDS));
        }
    }
    let steps = match def.get("steps") {
        Some(Value::Object(steps)) if !steps.is_empty() => steps,
        Some(Value::Object(_)) => {
            c.error(
                "steps".into(),
                "`steps` is empty: a flow needs at least one step".into(),
            );
            return c.problems;
        }
        Some(_) => {
            c.error(
                "steps".into(),
                "`steps` must be a map of step id to step".into(),
            );
            return c.problems;
        }
        None => {
            c.error(String::new(), "missing `steps`".into());
            return c.problems;
        }
    };
    match def.get("startStepInstanceId") {
        Some(Value::String(start)) if steps.contains_key(start) => {}
        Some(Value::String(start)) => c.error(
            "startStepInstanceId".into(),
            format!(
                "start step `{start}` is not a key of `steps` ({})",
                list(steps.keys())
            ),
        ),
        Some(_) => c.error("startStepInstanceId".into(), "must be a string".into()),
        None => c.error(String::new(), "missing `startStepInstanceId`".into()),
    }
    if let Some(v) = def
        .get("authoringSource")
        .filter(|v| v.as_str() != Some("code"))
    {
        c.warn(
            "authoringSource".into(),
            format!("authoringSource {v} is replaced by \"code\""),
        );
    }
    for (id, step) in steps {
        check_step(&mut c, steps, id, step);
    }
    c.problems
}

fn check_step(c: &mut Checker, steps: &Map<String, Value>, id: &str, step: &Value) {
    let path = key_path("steps", id);
    let Some(step) = step.as_object() else {
        c.error(path, "a step must be a map".into());
        return;
    };
    match step.get("stepInstanceId") {
        None => {}
        Some(Value::String(s)) if s == id => {}
        Some(v) => c.error(
            key_path(&path, "stepInstanceId"),
            format!("stepInstanceId {v} differs from its key `{id}`: keep them equal"),
        ),
    }
    let step_type = match step.get("stepType") {
        Some(Value::String(t)) if STEP_TYPES.contains(&t.as_str()) => t.as_str(),
        Some(Value::String(t)) => {
            let msg = format!("unknown stepType `{t}`{}", suggestion(t, STEP_TYPES));
            c.error(key_path(&path, "stepType"), msg);
            return;
        }
        Some(_) => {
            c.error(
                key_path(&path, "stepType"),
                "stepType must be a string".into(),
            );
            return;
        }
        None => {
            c.error(
                path,
                format!("missing `stepType` (one of {})", STEP_TYPES.join(", ")),
            );
            return;
        }
    };
    for key in step.keys().filter(|k| !STEP_FIELDS.contains(&k.as_str())) {
        c.warn(key_path(&path, key), unknown(key, STEP_FIELDS));
    }
    for field in required_fields(step_type)
        .iter()
        .filter(|f| !step.contains_key(**f))
    {
        c.error(path.clone(), format!("a {step_type} step needs `{field}`"));
    }
    let has_module = step.contains_key("moduleIdentifier");
    if MODULE_REQUIRED.contains(&step_type) && !has_module {
        c.error(
            path.clone(),
            format!("a {step_type} step needs `moduleIdentifier`"),
        );
    }
    if MODULE_FORBIDDEN.contains(&step_type) && has_module {
        c.error(
            key_path(&path, "moduleIdentifier"),
            format!("a {step_type} step takes no `moduleIdentifier`"),
        );
    }
    if let Some(provider) = step.get("llmProvider").and_then(Value::as_str) {
        let known = [
            "GEMINI",
            "ANTHROPIC",
            "OPENAI",
            "AWS_BEDROCK",
            "CUSTOM_LAMBDA",
        ];
        if !known.contains(&provider) && !provider.contains("{{") {
            let msg = format!(
                "unknown llmProvider `{provider}` (one of {}, or a `{{{{…}}}}` template){}",
                known.join(", "),
                suggestion(provider, &known)
            );
            c.error(key_path(&path, "llmProvider"), msg);
        }
    }
    check_targets(c, steps, &path, step);
    check_json_paths(c, &path, step);
}

fn check_targets(
    c: &mut Checker,
    steps: &Map<String, Value>,
    path: &str,
    step: &Map<String, Value>,
) {
    let target = |c: &mut Checker, at: String, value: Option<&Value>| match value {
        Some(Value::String(t)) if steps.contains_key(t) => {}
        Some(Value::String(t)) => c.error(
            at,
            format!(
                "points at step `{t}`, which does not exist ({})",
                list(steps.keys())
            ),
        ),
        Some(_) => c.error(at, "must be a step id (a string)".into()),
        None => {}
    };
    target(
        c,
        key_path(path, "defaultNextStepInstanceId"),
        step.get("defaultNextStepInstanceId"),
    );
    let on_error = step
        .get("onError")
        .and_then(|e| e.get("fallbackStepInstanceId"));
    target(
        c,
        format!("{path}.onError.fallbackStepInstanceId"),
        on_error,
    );
    match step.get("transitions") {
        None => {}
        Some(Value::Array(ts)) => {
            for (i, t) in ts.iter().enumerate() {
                let at = format!("{path}.transitions[{i}]");
                match t.get("nextStepInstanceId") {
                    None => c.error(at, "a transition needs `nextStepInstanceId`".into()),
                    next => target(c, format!("{at}.nextStepInstanceId"), next),
                }
            }
        }
        Some(_) => c.error(
            key_path(path, "transitions"),
            "`transitions` must be a list".into(),
        ),
    }
}

fn check_json_paths(c: &mut Checker, path: &str, step: &Map<String, Value>) {
    let check = |c: &mut Checker, at: String, v: &str| {
        if !(v.starts_with("$.") && v.len() > 2) {
            c.error(
                at,
                format!("`{v}` is not a JSONPath: it must start with `$.`"),
            );
        }
    };
    if let Some(Value::Array(ts)) = step.get("transitions") {
        for (i, t) in ts.iter().enumerate() {
            if let Some(cond) = t.get("condition").and_then(Value::as_str) {
                check(c, format!("{path}.transitions[{i}].condition"), cond);
            }
        }
    }
    if let Some(Value::Object(m)) = step.get("inputMappings") {
        for (k, v) in m {
            if let Some(v) = v.as_str() {
                check(c, format!("{path}.inputMappings.{k}"), v);
            }
        }
    }
    if let Some(Value::Object(m)) = step.get("outputMappings") {
        for (k, v) in m {
            check(c, format!("{path}.outputMappings.{k}"), k);
            if let Some(v) = v.as_str() {
                check(c, format!("{path}.outputMappings.{k}"), v);
            }
        }
    }
}

/// The definitions a flow refers to: prompts of LLM steps and flows started by it.
pub fn references(def: &Map<String, Value>) -> Vec<Reference> {
    let mut refs = Vec::new();
    let Some(Value::Object(steps)) = def.get("steps") else {
        return refs;
    };
    let mut add = |kind, id: Option<&Value>, path: String| {
        if let Some(id) = id.and_then(Value::as_str) {
            refs.push(Reference {
                kind,
                id: id.to_string(),
                path,
                line: 0,
            });
        }
    };
    for (sid, step) in steps {
        let p = key_path("steps", sid);
        add(
            Kind::PromptTemplate,
            step.get("promptTemplateId"),
            format!("{p}.promptTemplateId"),
        );
        add(
            Kind::Flow,
            step.get("subFlowDefinitionId"),
            format!("{p}.subFlowDefinitionId"),
        );
        add(
            Kind::Flow,
            step.get("flowDefinitionId"),
            format!("{p}.flowDefinitionId"),
        );
        if let Some(Value::Array(branches)) = step.get("parallelBranches") {
            for (i, b) in branches.iter().enumerate() {
                let at = format!("{p}.parallelBranches[{i}].subFlowDefinitionId");
                add(Kind::Flow, b.get("subFlowDefinitionId"), at);
            }
        }
    }
    refs
}

/// Whether an id is usable in Admin API paths (allma-admin-api.md §1.2).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
}

fn misplaced_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "id" => "set `spec.id` (or `metadata.name`) instead",
        "name" => "set `spec.name` instead",
        "description" => "set `spec.description` instead",
        "tags" => "set `spec.tags` instead",
        "flowVariables" => "set `spec.variables` instead",
        "version" | "isPublished" | "publishedAt" | "createdAt" | "updatedAt" => {
            "it is managed by the Allma server; remove it"
        }
        _ => return None,
    })
}

fn unknown(key: &str, known: &[&str]) -> String {
    format!("unknown field `{key}`{}", suggestion(key, known))
}

/// ", did you mean `x`?" for the closest known word, when one is close.
pub fn suggestion(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(&word.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| format!(", did you mean `{k}`?"))
        .unwrap_or_default()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn list<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let keys: Vec<&str> = keys.map(String::as_str).collect();
    format!("steps are: {}", keys.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(def: Value) -> Vec<Problem> {
        check_flow(def.as_object().unwrap())
    }

    #[test]
    fn a_valid_flow_has_no_problems() {
        let p = problems(json!({"startStepInstanceId": "a", "steps": {
            "a": {"stepType": "NO_OP", "defaultNextStepInstanceId": "b"},
            "b": {"stepType": "LLM_INVOCATION", "llmProvider": "GEMINI", "modelId": "m", "promptTemplateId": "p"}}}));
        assert_eq!(p, vec![]);
    }

    #[test]
    fn transition_to_a_missing_step_is_named_by_path() {
        let p = problems(json!({"startStepInstanceId": "a", "steps": {
            "a": {"stepType": "NO_OP", "transitions": [{"condition": "$.ok", "nextStepInstanceId": "nope"}]}}}));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "steps.a.transitions[0].nextStepInstanceId");
        assert!(p[0].message.contains("`nope`"), "{}", p[0].message);
    }

    #[test]
    fn unknown_step_type_suggests_the_closest() {
        let p = problems(json!({"startStepInstanceId": "a", "steps": {"a": {"stepType": "NOOP"}}}));
        assert!(
            p[0].message.contains("did you mean `NO_OP`"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn missing_start_step_and_misplaced_fields_are_errors() {
        let p = problems(
            json!({"startStepInstanceId": "x", "name": "n", "steps": {"a": {"stepType": "NO_OP"}}}),
        );
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, vec!["name", "startStepInstanceId"]);
    }

    #[test]
    fn references_cover_prompts_and_sub_flows() {
        let def = json!({"steps": {"a": {"stepType": "START_SUB_FLOW", "subFlowDefinitionId": "child"},
                                   "b": {"stepType": "LLM_INVOCATION", "promptTemplateId": "p"}}});
        let refs = references(def.as_object().unwrap());
        assert_eq!(refs.len(), 2);
        assert_eq!((refs[0].kind, refs[0].id.as_str()), (Kind::Flow, "child"));
        assert_eq!(
            (refs[1].kind, refs[1].id.as_str()),
            (Kind::PromptTemplate, "p")
        );
    }
}
