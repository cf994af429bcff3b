//! `devhost`: run the API locally against the AWS emulator at `AWS_ENDPOINT_URL`.
//! Usually started through `infra/local/run`; see `devhost help`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use devhost::stack::{self, StackOptions};
use devhost::token::{self, DevSecret};
use devhost::{ALLOWED_ORIGINS_PARAMETER, AwsClients, Error, Template};

const USAGE: &str = "\
devhost: the local API Gateway + Lambda for infra/template.yaml

usage:
  devhost token --tenant T --user U [--roles a,b] [--ttl-hours N]
      print a bearer token the local gateway accepts (default: no roles, 12 hours)
  devhost create-resources [--stack NAME]
      create the template's tables, topics, queues and buckets (with their notifications) in
      the emulator at AWS_ENDPOINT_URL and print their names (queues: their URLs; topics:
      their ARNs)
  devhost up [--port 3000] [--stack customers-local] [--bin-dir DIR] [--instances 2]
             [--allowed-origins http://127.0.0.1:5173,http://localhost:5173]
      create the resources, start the built functions, serve the API on 127.0.0.1:PORT, and
      deliver the queues' messages to the functions with SQS events and the tables' stream
      records to those with DynamoDB events (filter criteria, partial batch responses,
      retries, on-failure queue), as Lambda does; retries are quicker than Lambda's (1 s) and
      MaximumRetryAttempts -1 stops after 20 (binaries from DIR, default
      $CARGO_TARGET_DIR/debug or target/debug); the API's CORS allows the browser origins
      given (the template's ApiAllowedOrigins; by default the local console's); Ctrl-C
      stops it
";

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let outcome = match command.as_str() {
        "token" => run_token(rest),
        "create-resources" => run_create_resources(rest).await,
        "up" => run_up(rest).await,
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("devhost: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(error)) => {
            eprintln!("devhost: {error}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Run(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Run(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Run(error.into())
    }
}

/// Logs go to stderr (stdout carries tokens and names for scripts); `RUST_LOG` filters them.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("devhost=info,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// `--name value` and `--name=value` pairs; anything not in `allowed` is a usage error.
fn parse_flags(args: &[String], allowed: &[&str]) -> Result<HashMap<String, String>, Failure> {
    let mut flags = HashMap::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(Failure::Usage(format!("unexpected argument {arg:?}")));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => {
                let value = args
                    .next()
                    .ok_or_else(|| Failure::Usage(format!("--{flag} needs a value")))?;
                (flag.to_owned(), value.clone())
            }
        };
        if !allowed.contains(&name.as_str()) {
            return Err(Failure::Usage(format!("unknown option --{name}")));
        }
        flags.insert(name, value);
    }
    Ok(flags)
}

fn required<'a>(flags: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Failure> {
    flags
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure::Usage(format!("--{name} is required")))
}

fn number<T: std::str::FromStr>(
    flags: &HashMap<String, String>,
    name: &str,
    default: T,
) -> Result<T, Failure> {
    match flags.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| Failure::Usage(format!("--{name}: not a number: {text:?}"))),
    }
}

fn run_token(args: &[String]) -> Result<(), Failure> {
    let flags = parse_flags(args, &["tenant", "user", "roles", "ttl-hours"])?;
    let tenant = required(&flags, "tenant")?;
    let user = required(&flags, "user")?;
    let roles: Vec<String> = flags
        .get("roles")
        .map(|r| {
            r.split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let ttl_hours: u64 = number(&flags, "ttl-hours", 12)?;
    let secret = DevSecret::load_or_create(devhost::repo_root()?.join(token::SECRET_PATH))?;
    println!(
        "{}",
        token::issue(
            &secret,
            tenant,
            user,
            &roles,
            Duration::from_secs(ttl_hours * 3600)
        )
    );
    Ok(())
}

async fn run_create_resources(args: &[String]) -> Result<(), Failure> {
    let flags = parse_flags(args, &["stack"])?;
    let root = devhost::repo_root()?;
    let stack_name = flags
        .get("stack")
        .cloned()
        .unwrap_or_else(|| StackOptions::new(&root).stack_name);
    let template = Template::load(root.join(devhost::TEMPLATE_PATH))?;
    let clients = AwsClients::from_env().await?;
    let parameters = StackOptions::new(&root).parameters;
    let created = devhost::create_stack(&clients, &template, &stack_name, &parameters).await?;
    let mut names: Vec<_> = created
        .tables
        .into_iter()
        .chain(created.buckets)
        .chain(
            created
                .queues
                .into_iter()
                .map(|(id, queue)| (id, queue.url)),
        )
        .chain(
            created
                .topics
                .into_iter()
                .map(|(id, topic)| (id, topic.arn)),
        )
        .collect();
    names.sort();
    for (logical_id, name_or_url) in names {
        println!("{logical_id}\t{name_or_url}");
    }
    Ok(())
}

async fn run_up(args: &[String]) -> Result<(), Failure> {
    let flags = parse_flags(
        args,
        &["port", "stack", "bin-dir", "instances", "allowed-origins"],
    )?;
    let mut options = StackOptions::new(devhost::repo_root()?);
    options.port = number(&flags, "port", 3000)?;
    options.instances = number(&flags, "instances", options.instances)?;
    if let Some(stack_name) = flags.get("stack") {
        options.stack_name = stack_name.clone();
    }
    if let Some(dir) = flags.get("bin-dir") {
        options.bin_dir = PathBuf::from(dir);
    }
    if let Some(origins) = flags.get("allowed-origins") {
        options
            .parameters
            .insert(ALLOWED_ORIGINS_PARAMETER.to_owned(), origins.clone());
        // The bucket takes one origin: the console's, which uploads straight to it.
        if let Some(first) = origins.split(',').next() {
            options
                .parameters
                .insert("UploadAllowedOrigin".to_owned(), first.trim().to_owned());
        }
    }
    let clients = AwsClients::from_env().await?;
    let running = stack::start_with_clients(&options, &clients).await?;
    for (logical_id, table) in sorted(&running.tables) {
        println!("devhost: table {logical_id} = {table}");
    }
    for (logical_id, bucket) in sorted(&running.buckets) {
        println!("devhost: bucket {logical_id} = {bucket}");
    }
    for (logical_id, url) in sorted(&running.queues) {
        println!("devhost: queue {logical_id} = {url}");
    }
    for (logical_id, arn) in sorted(&running.topics) {
        println!("devhost: topic {logical_id} = {arn}");
    }
    for source in &running.event_sources {
        println!(
            "devhost: {} <- SQS {} (batch size {}{})",
            source.function,
            source.queue_url,
            source.batch_size,
            if source.report_batch_item_failures {
                ", partial batch responses"
            } else {
                ""
            }
        );
    }
    for source in &running.stream_sources {
        let retries = source
            .maximum_retry_attempts
            .map_or_else(|| "until expiry".to_owned(), |n| n.to_string());
        println!(
            "devhost: {} <- DynamoDB stream {} ({}: batch size {}, {} filter(s), retries {}{}{}{})",
            source.function,
            source.stream_arn,
            source.event,
            source.batch_size,
            source.filters.len(),
            retries,
            if source.bisect_batch_on_function_error {
                ", bisect on error"
            } else {
                ""
            },
            if source.report_batch_item_failures {
                ", partial batch responses"
            } else {
                ""
            },
            source
                .on_failure_queue_url
                .as_deref()
                .map(|url| format!(", on failure -> {url}"))
                .unwrap_or_default(),
        );
    }
    for (logical_id, times) in &running.startup_times {
        let times: Vec<String> = times
            .iter()
            .map(|t| format!("{} ms", t.as_millis()))
            .collect();
        println!(
            "devhost: function {logical_id}: {} instance(s), process start to ready {}",
            times.len(),
            times.join(", ")
        );
    }
    println!("devhost: API at {}", running.url);
    println!(
        "devhost: ready (token: infra/local/token --tenant TENANT --user USER --roles ROLE,...; Ctrl-C stops)"
    );
    // Ctrl-C reaches the whole foreground process group: this process and the function
    // processes end together; a function process orphaned otherwise exits as soon as its
    // Runtime API stops answering.
    running.serve_forever().await?;
    Ok(())
}

fn sorted(map: &HashMap<String, String>) -> Vec<(&String, &String)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort();
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_parse_in_both_spellings_and_unknown_ones_are_refused() {
        let flags = parse_flags(
            &args("--tenant t1 --user=u1 --roles a,b"),
            &["tenant", "user", "roles"],
        )
        .ok()
        .unwrap();
        assert_eq!(flags["tenant"], "t1");
        assert_eq!(flags["user"], "u1");
        assert_eq!(flags["roles"], "a,b");
        assert!(parse_flags(&args("--color red"), &["tenant"]).is_err());
        assert!(parse_flags(&args("--tenant"), &["tenant"]).is_err());
        assert!(parse_flags(&args("stray"), &["tenant"]).is_err());
    }
}
