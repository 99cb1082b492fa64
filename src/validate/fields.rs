//! The field tables the definition checks use, after Allma's schemas
//! (allma-admin-api.md §5.1–5.4).

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

/// Keys of a flow definition (a version without its master-level and server fields).
pub(super) const DEFINITION_FIELDS: &[&str] = &[
    "steps",
    "startStepInstanceId",
    "enableExecutionLogs",
    "defaultStepConfig",
    "onCompletionActions",
    "authoringSource",
];

/// Keys of a step: the common fields and every stepType payload field (§5.2–5.3).
pub(super) const STEP_FIELDS: &[&str] = &[
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

/// Step types that must carry a `moduleIdentifier`.
pub(super) const MODULE_REQUIRED: &[&str] = &[
    "CUSTOM_LOGIC",
    "DATA_LOAD",
    "DATA_SAVE",
    "DATA_TRANSFORMATION",
    "START_FLOW_EXECUTION",
    "SQS_SEND",
    "SNS_PUBLISH",
];

/// Step types that must not carry a `moduleIdentifier`.
pub(super) const MODULE_FORBIDDEN: &[&str] = &[
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

/// Payload fields a step of this type must have.
pub(super) fn required_fields(step_type: &str) -> &'static [&'static str] {
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

/// Keys of `definition.defaultStepConfig`, a strict object: the server drops others.
pub(super) const DEFAULT_STEP_CONFIG_FIELDS: &[&str] = &[
    "defaultInferenceParameters",
    "defaultCustomConfig",
    "defaultErrorHandler",
];

/// Keys of an `onCompletionActions[]` entry: the server drops others.
pub(super) const ACTION_FIELDS: &[&str] = &[
    "actionType",
    "target",
    "payloadTemplate",
    "condition",
    "executeOnStatus",
    "apiHttpMethod",
    "messageAttributesTemplate",
    "moduleIdentifier",
    "customConfig",
];

/// Every `actionType` of an `onCompletionActions[]` entry.
pub(super) const ACTION_TYPES: &[&str] = &[
    "LOG_ONLY",
    "API_CALL",
    "SQS_SEND",
    "SNS_SEND",
    "CUSTOM_LAMBDA_INVOKE",
    "DATA_SAVE",
];

/// Every built-in `llmProvider`; a `{{…}}` template is accepted as well.
pub(super) const LLM_PROVIDERS: &[&str] = &[
    "GEMINI",
    "ANTHROPIC",
    "OPENAI",
    "AWS_BEDROCK",
    "CUSTOM_LAMBDA",
];
