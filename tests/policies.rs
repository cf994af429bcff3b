//! Least privilege, checked on infra/template.yaml: each function's policy allows exactly the
//! actions its code calls (the list below says which code path needs each), never `*`, on the
//! resources it uses: the table and its indexes, one bucket prefix, one queue or topic. The one
//! wildcard resource (SMS has no ARN) must come with the Deny that keeps it to phone numbers.

use std::collections::{BTreeMap, BTreeSet};

use serde_norway::Value;

/// What each function's code calls, by action.
const USED: &[(&str, &[&str])] = &[
    (
        "CustomersApiFunction",
        &[
            "dynamodb:GetItem",            // a card, a record, settings, guards
            "dynamodb:BatchGetItem",       // cards of an assignment page, sites of a contract
            "dynamodb:PutItem",            // a site, contract, work order, job change
            "dynamodb:UpdateItem", // the number counter; inventory lines in a ticket's transaction
            "dynamodb:DeleteItem", // unlink, delete, guards and lookups in transactions
            "dynamodb:ConditionCheckItem", // a work order on its customer, a job on its work order
            "dynamodb:Query",      // every list and lookup (the table, GSI1, GSI3 to GSI8)
            "s3:PutObject",        // presigned uploads to imports/
            "s3:GetObject",        // presigned error reports from reports/, exports from exports/
            "sqs:SendMessage",     // a requested export's message to the imports queue
        ],
    ),
    (
        "CustomersImportFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem", // guards and cards of a batch of rows
            "dynamodb:PutItem",      // rows' customers, the import record, error chunks
            "dynamodb:UpdateItem",   // the number counter
            "dynamodb:DeleteItem",   // guards and lookups an updated row frees
            "dynamodb:Query",        // error chunks at the end; an export's list pages
            "s3:GetObject",          // the file
            "s3:PutObject",          // the error report; an export's file
            "sqs:SendMessage",       // the continuation
        ],
    ),
    (
        "CustomersCascadeFunction",
        &[
            "dynamodb:Query",              // a page of sites, contracts, work orders, jobs
            "dynamodb:PutItem",            // the closed records and the history entry
            "dynamodb:ConditionCheckItem", // the customer still inactive
            "dynamodb:GetItem",            // a bulk change's record
            "dynamodb:BatchGetItem",       // a page of a bulk change's customers
            "dynamodb:DeleteItem",         // a moved record under the merged card
            "dynamodb:UpdateItem",         // the survivor's inventory lines a merge adds to
            "s3:GetObject",                // an erasure: the import files and reports
            "s3:GetObjectVersion",         // every version of them
            "s3:DeleteObjectVersion",      // the versions holding the erased customer's rows
            "s3:PutObject",                // a report written again without them
            "s3:ListBucketVersions",       // the versions of the organisation's files
            "sqs:SendMessage",             // the continuation; the on-failure destination
        ],
    ),
    (
        "TechnicianNotificationsFunction",
        &[
            "dynamodb:GetItem",    // the customer's assignees
            "dynamodb:UpdateItem", // claim and settle a notice
            "sns:Publish",         // the technicians' topic
            "sqs:SendMessage",     // the on-failure destination
        ],
    ),
    (
        "CustomerTextsFunction",
        &[
            "dynamodb:GetItem",    // work order, card, settings
            "dynamodb:PutItem",    // settle a text; an opt-out on the card
            "dynamodb:UpdateItem", // claim a text; count it against the SMS limits
            "sns:Publish",         // the SMS
            "sns:CheckIfPhoneNumberIsOptedOut",
            "sqs:SendMessage", // the on-failure destination
        ],
    ),
];

/// Resources a function may name without a resource ARN, and why.
const WILDCARDS: &[(&str, &str)] = &[
    ("CustomerTextsFunction", "sns:Publish"), // SMS to a phone number has no ARN
    ("CustomerTextsFunction", "sns:CheckIfPhoneNumberIsOptedOut"), // no resource-level permission
];

fn template() -> Value {
    infra_file("template.yaml")
}

/// A YAML file of infra/.
fn infra_file(name: &str) -> Value {
    let path = format!("{}/../infra/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("YAML")
}

/// A policy value as text: `!GetAtt CustomersTable.Arn`, `!Sub "..."`, or the string.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, text(&tagged.value)),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Sequence(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

struct Statement {
    effect: String,
    actions: Vec<String>,
    resources: Vec<String>,
    /// The key prefixes a bucket-level list is held to (`Condition: StringLike: s3:prefix`).
    list_prefixes: Vec<String>,
}

fn statements(template: &Value) -> BTreeMap<String, Vec<Statement>> {
    let mut out = BTreeMap::new();
    let resources = template["Resources"].as_mapping().expect("resources");
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let mut found = Vec::new();
        for policy in list(&resource["Properties"]["Policies"]) {
            for statement in list(&policy["Statement"]) {
                found.push(Statement {
                    effect: text(&statement["Effect"]),
                    actions: list(&statement["Action"]).iter().map(text).collect(),
                    resources: list(&statement["Resource"]).iter().map(text).collect(),
                    list_prefixes: list(&statement["Condition"]["StringLike"]["s3:prefix"])
                        .iter()
                        .map(text)
                        .collect(),
                });
            }
        }
        out.insert(name.as_str().unwrap().to_owned(), found);
    }
    out
}

#[test]
fn every_function_is_allowed_exactly_what_its_code_calls() {
    let template = template();
    let policies = statements(&template);
    let expected: BTreeMap<&str, BTreeSet<&str>> = USED
        .iter()
        .map(|(f, actions)| (*f, actions.iter().copied().collect()))
        .collect();
    assert_eq!(
        policies.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected.keys().copied().collect::<BTreeSet<_>>(),
        "every function of the template is listed here"
    );
    for (function, statements) in &policies {
        let allowed: BTreeSet<&str> = statements
            .iter()
            .filter(|s| s.effect == "Allow")
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect();
        assert_eq!(allowed, expected[function.as_str()], "{function}");
    }
}

#[test]
fn no_function_may_do_everything_or_touch_everything() {
    for (function, statements) in statements(&template()) {
        for statement in statements.iter().filter(|s| s.effect == "Allow") {
            for action in &statement.actions {
                assert!(!action.contains('*'), "{function}: {action}");
                assert_ne!(action, "dynamodb:Scan", "{function}: Query, never Scan");
            }
            for resource in &statement.resources {
                let wildcard = resource == "*";
                for action in &statement.actions {
                    if wildcard {
                        assert!(
                            WILDCARDS.contains(&(function.as_str(), action.as_str())),
                            "{function}: {action} on every resource"
                        );
                    }
                    if action.starts_with("dynamodb:") {
                        // The table, or one named index: never every index or another table.
                        let table = resource == "!GetAtt CustomersTable.Arn";
                        let index = resource.starts_with("!Sub ${CustomersTable.Arn}/index/GSI");
                        assert!(table || index, "{function}: {action} on {resource}");
                    }
                    if action.starts_with("s3:") {
                        // An object action on one key prefix, or a list of the bucket held to
                        // key prefixes by its condition.
                        let listed = action.starts_with("s3:ListBucket")
                            && resource == "!GetAtt ImportsBucket.Arn"
                            && !statement.list_prefixes.is_empty()
                            && statement
                                .list_prefixes
                                .iter()
                                .all(|p| p.ends_with("/*") && p.len() > 2);
                        let prefix = listed
                            || resource.starts_with("!Sub ${ImportsBucket.Arn}/")
                                && resource.ends_with("/*")
                                && !resource.ends_with("Arn}/*");
                        assert!(
                            prefix,
                            "{function}: {action} on {resource} (one key prefix)"
                        );
                    }
                }
            }
        }
        let wildcards: Vec<_> = statements
            .iter()
            .filter(|s| s.effect == "Allow" && s.resources.iter().any(|r| r == "*"))
            .collect();
        if !wildcards.is_empty() {
            let denied_topics = statements.iter().any(|s| {
                s.effect == "Deny"
                    && s.actions.iter().any(|a| a == "sns:Publish")
                    && s.resources.iter().any(|r| r.contains(":sns:*:*:*"))
            });
            assert!(
                denied_topics,
                "{function}: SMS only, never a topic or an endpoint"
            );
        }
    }
}

/// The resource a `!Ref X` or `!GetAtt X.Arn` names, if the value is one.
fn referenced(value: &Value) -> Option<String> {
    let Value::Tagged(tagged) = value else {
        return None;
    };
    let target = tagged.value.as_str()?;
    match tagged.tag.to_string().as_str() {
        "!Ref" => Some(target.to_owned()),
        "!GetAtt" => target.strip_suffix(".Arn").map(str::to_owned),
        _ => None,
    }
}

/// The Allow statements of a policy document that let `service` do each of `actions`
/// (an action ending in `*` in the statement covers the actions it prefixes), and no Deny
/// that names the service.
fn service_may(document: &Value, service: &str, actions: &[&str]) -> Result<(), String> {
    let statements = list(&document["Statement"]);
    let names_service = |s: &Value| {
        list(&s["Principal"]["Service"])
            .iter()
            .any(|p| text(p) == service)
            || text(&s["Principal"]) == "*"
    };
    if let Some(deny) = statements
        .iter()
        .find(|s| text(&s["Effect"]) == "Deny" && names_service(s))
    {
        return Err(format!("a Deny names {service}: {deny:?}"));
    }
    for action in actions {
        let allowed = statements.iter().any(|s| {
            text(&s["Effect"]) == "Allow"
                && names_service(s)
                && list(&s["Action"]).iter().map(text).any(|granted| {
                    granted == *action
                        || granted
                            .strip_suffix('*')
                            .is_some_and(|prefix| action.starts_with(prefix))
                })
        });
        if !allowed {
            return Err(format!("{service} may not {action}"));
        }
    }
    Ok(())
}

/// An alarm that notifies a topic CloudWatch cannot publish to is an alarm nobody hears:
/// a topic under the AWS-managed key `alias/aws/sns` is one (that key's policy cannot grant
/// CloudWatch). Every alarm action must name a topic of this template whose key is one of
/// ours, rotated, whose policy lets CloudWatch encrypt, and whose topic policy lets CloudWatch
/// publish.
#[test]
fn every_alarm_action_is_a_topic_cloudwatch_can_publish_to() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let of_type = |kind: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r["Type"].as_str() == Some(kind))
            .map(|(name, r)| (name.as_str().unwrap().to_owned(), r))
    };
    let mut alarms = 0;
    for (alarm, resource) in of_type("AWS::CloudWatch::Alarm") {
        alarms += 1;
        let properties = &resource["Properties"];
        let actions: Vec<Value> = ["AlarmActions", "OKActions", "InsufficientDataActions"]
            .iter()
            .flat_map(|name| list(&properties[*name]))
            .collect();
        assert!(!actions.is_empty(), "{alarm} notifies nobody");
        for action in actions {
            let topic = referenced(&action)
                .unwrap_or_else(|| panic!("{alarm}: {action:?} is not a topic of the stack"));
            let topic_resource = &resources[topic.as_str()];
            assert_eq!(
                topic_resource["Type"].as_str(),
                Some("AWS::SNS::Topic"),
                "{alarm}: {topic}"
            );
            let key_value = &topic_resource["Properties"]["KmsMasterKeyId"];
            if !key_value.is_null() {
                let key = referenced(key_value).unwrap_or_else(|| {
                    panic!("{topic}: {key_value:?} is not a key of the stack (AWS-managed keys cannot grant CloudWatch)")
                });
                let key_resource = &resources[key.as_str()];
                assert_eq!(
                    key_resource["Type"].as_str(),
                    Some("AWS::KMS::Key"),
                    "{topic}"
                );
                assert_eq!(
                    key_resource["Properties"]["EnableKeyRotation"].as_bool(),
                    Some(true),
                    "{key} rotates"
                );
                service_may(
                    &key_resource["Properties"]["KeyPolicy"],
                    "cloudwatch.amazonaws.com",
                    &["kms:Decrypt", "kms:GenerateDataKey"],
                )
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            }
            let published = of_type("AWS::SNS::TopicPolicy").any(|(_, policy)| {
                list(&policy["Properties"]["Topics"])
                    .iter()
                    .any(|t| referenced(t).as_deref() == Some(topic.as_str()))
                    && service_may(
                        &policy["Properties"]["PolicyDocument"],
                        "cloudwatch.amazonaws.com",
                        &["sns:Publish"],
                    )
                    .is_ok()
            });
            assert!(
                published,
                "{topic}: no topic policy lets CloudWatch publish"
            );
        }
    }
    assert!(alarms > 0, "the template has alarms");
}

/// The bucket's CORS origin is the deployer's own web app: no default to forget (it was `*`)
/// and a pattern that admits one origin, never a wildcard; every CORS rule names it.
#[test]
fn the_upload_origin_is_set_by_the_deployer_and_is_never_a_wildcard() {
    let template = template();
    let origin = &template["Parameters"]["UploadAllowedOrigin"];
    assert!(origin["Default"].is_null(), "no default: {origin:?}");
    let pattern = text(&origin["AllowedPattern"]);
    assert!(
        pattern.starts_with("^https?://") && pattern.ends_with('$') && !pattern.contains('*'),
        "one origin, anchored, no wildcard: {pattern}"
    );
    let rules = list(
        &template["Resources"]["ImportsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"],
    );
    assert!(!rules.is_empty());
    for rule in rules {
        let origins: Vec<String> = list(&rule["AllowedOrigins"]).iter().map(text).collect();
        assert_eq!(origins, ["!Ref UploadAllowedOrigin"], "{rule:?}");
    }
}

/// The optional identity stack (infra/identity.yaml) issues tokens the API trusts for the
/// organisation, so no user may choose their own: no self sign-up, and every app client names
/// its WriteAttributes (none named would make every attribute writable) without the tenant's
/// attribute. The groups are the API's roles, and the outputs name the claims the pool's ID
/// tokens carry them in.
#[test]
fn the_identity_stack_never_lets_a_user_write_the_organisation() {
    let identity = infra_file("identity.yaml");
    let resources = identity["Resources"].as_mapping().expect("resources");
    let of_type = |kind: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r["Type"].as_str() == Some(kind))
            .map(|(_, r)| r)
    };
    let tenant_claim = text(&identity["Outputs"]["TenantClaim"]["Value"]);
    let attribute = tenant_claim
        .strip_prefix("custom:")
        .expect("the organisation is a custom attribute");
    let pools: Vec<&Value> = of_type("AWS::Cognito::UserPool").collect();
    assert_eq!(pools.len(), 1);
    let pool = &pools[0]["Properties"];
    assert_eq!(
        pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"].as_bool(),
        Some(true),
        "no self sign-up"
    );
    assert!(
        list(&pool["Schema"])
            .iter()
            .any(|a| text(&a["Name"]) == attribute),
        "the pool declares {attribute}"
    );
    let clients: Vec<&Value> = of_type("AWS::Cognito::UserPoolClient").collect();
    assert!(!clients.is_empty());
    for client in clients {
        let writable: Vec<String> = list(&client["Properties"]["WriteAttributes"])
            .iter()
            .map(text)
            .collect();
        assert!(
            !writable.is_empty(),
            "an app client without WriteAttributes lets users write every attribute"
        );
        assert!(
            !writable.contains(&tenant_claim) && writable.iter().all(|a| !a.starts_with("custom:")),
            "users may not write {tenant_claim}: {writable:?}"
        );
    }
    let groups: BTreeSet<String> = of_type("AWS::Cognito::UserPoolGroup")
        .map(|g| text(&g["Properties"]["GroupName"]))
        .collect();
    assert_eq!(
        groups,
        ["administrator", "coordinator", "technician"]
            .map(String::from)
            .into()
    );
    for group in &groups {
        assert!(
            domain::Grants::of_roles(&[group]) != domain::Grants::of_roles::<&str>(&[]),
            "{group} is a role the API grants something"
        );
    }
    assert_eq!(
        text(&identity["Outputs"]["RolesClaim"]["Value"]),
        "cognito:groups"
    );
}
