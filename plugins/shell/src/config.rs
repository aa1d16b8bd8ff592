//! The shell step's `tool` object, with upstream NoETL's field names: `command`, `shell`
//! (default `sh`), `env`, `cwd`, `timeout_seconds`, `capture` (default true); plus `job`
//! (the script tool's job fields: image, namespace, resources, ...).

use serde_json::Value;

use noetl_plugin_script::generated::{self, JobFields};
use noetl_protocol::fields::reader::{ObjectReader, describe};
use noetl_protocol::fields::{Errors, FieldError};

pub(crate) const FIELDS: [&str; 8] = [
    "kind",
    "command",
    "shell",
    "env",
    "cwd",
    "timeout_seconds",
    "capture",
    "job",
];

/// What runs: a command line for the shell, or an exact argv (no shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Line { shell: String, line: String },
    Argv(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ShellStep<'a> {
    pub command: Command,
    pub cwd: Option<String>,
    pub fields: JobFields<'a>,
}

pub fn parse(config: &Value) -> Result<ShellStep<'_>, Vec<FieldError>> {
    let mut errors = Errors::default();
    let Some(tool) = ObjectReader::open_tool(config, "shell", &FIELDS, &mut errors) else {
        return Err(errors.into_vec());
    };
    let shell = tool.string("shell", "bash", &mut errors);
    if let Some(shell) = &shell
        && !is_program_name(shell)
    {
        errors.push(
            "tool.shell",
            format!("{shell:?} is not a program name or absolute path"),
            "write a shell the job image has, e.g. sh or bash (or an absolute path such as /bin/bash)",
        );
    }
    let command = read_command(&tool, shell, &mut errors);
    let cwd = generated::working_dir(&tool, &mut errors);
    // Checked now; `finish` reads it with `captures`.
    tool.boolean("capture", true, &mut errors);
    let fields = JobFields {
        env: tool.get("env"),
        timeout_seconds: tool.get("timeout_seconds"),
        dependencies: None,
        job: tool.get("job"),
    };
    match command {
        Some(command) if errors.is_empty() => Ok(ShellStep {
            command,
            cwd,
            fields,
        }),
        _ => Err(errors.into_vec()),
    }
}

/// `capture` (default true): whether stdout and stderr are returned. `plan` checked it.
pub fn captures(config: &Value) -> bool {
    config
        .get("capture")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// A string runs through the shell; a list of strings is the exact argv (no shell).
fn read_command(
    tool: &ObjectReader,
    shell: Option<String>,
    errors: &mut Errors,
) -> Option<Command> {
    let Some(value) = tool.get("command") else {
        errors.push(
            "tool.command",
            "missing field `command`",
            "add command: the command line, e.g. \"ls -l /tmp\"",
        );
        return None;
    };
    match value {
        Value::String(line) => Some(Command::Line {
            shell: shell.unwrap_or_else(|| "sh".into()),
            line: line.clone(),
        }),
        Value::Array(_) => {
            if tool.get("shell").is_some() {
                errors.push(
                    "tool.shell",
                    "a command given as a list runs as an exact argv, without a shell",
                    "remove shell, or write command as one string for the shell",
                );
            }
            let argv: Vec<String> = tool
                .string_list("command", "\"ls\", \"-l\"", errors)
                .into_iter()
                .map(|(_, item)| item)
                .collect();
            if argv.is_empty() {
                errors.push(
                    "tool.command",
                    "the command list is empty",
                    "name the program first, e.g. [ls, -l, /tmp]",
                );
                return None;
            }
            Some(Command::Argv(argv))
        }
        other => {
            errors.push(
                "tool.command",
                format!(
                    "expected a string or a list of strings, found {}",
                    describe(other)
                ),
                "write command: \"echo hello\" (run by the shell) or [echo, hello] (an exact argv)",
            );
            None
        }
    }
}

fn is_program_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && (!name.contains('/') || name.starts_with('/'))
}
