//! A tool plugin that misbehaves in the way `config.behavior` names, so the host's bounds
//! can be tested against a real component. `behavior: ok` answers normally.

mod bundles;

use noetl_plugin_sdk::{
    Context, JobOutcome, PlanResult, Tool, ToolError, ToolInfo, Value, capability, json,
};

struct Hostile;

/// What `init` builds on the heap; the host snapshots it, so every call must find exactly
/// this, whatever an earlier call wrote over it.
static INIT_STATE: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
const INIT_PATTERN: &[u8] = b"built-by-init;";
const INIT_REPEAT: usize = 256;

impl Tool for Hostile {
    fn init() {
        let mut state = INIT_STATE.lock().unwrap();
        for _ in 0..INIT_REPEAT {
            state.extend_from_slice(INIT_PATTERN);
        }
    }

    fn describe() -> ToolInfo {
        ToolInfo::new(
            "hostile",
            "0.1.0",
            "Misbehaves on purpose for the host's tests",
        )
    }

    fn finish(_config: Value, _context: &Context, outcome: JobOutcome) -> Result<Value, ToolError> {
        Ok(bundles::finish(outcome))
    }

    fn plan(config: Value, context: &Context) -> Result<PlanResult, ToolError> {
        let behavior = config
            .get("behavior")
            .and_then(Value::as_str)
            .unwrap_or("ok");
        let done = |data: Value| {
            Ok(PlanResult::Done(
                json!({"status": "success", "data": data}).to_string(),
            ))
        };
        match behavior {
            "ok" => done(json!({"echo": config})),
            // A WASI clock wait: no CPU used, no capability involved; only the wall-clock
            // limit can stop it.
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(900));
                done(json!("woke up"))
            }
            "loop" => loop {
                std::hint::black_box(());
            },
            "allocate" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => done(json!(recurse(std::hint::black_box(1)))),
            "panic" => panic!("hostile plugin panics on purpose: canary-panic-message"),
            "big-output" => done(json!("x".repeat(100 << 20))),
            "kubernetes" => {
                let created = capability::kubernetes::create(
                    "kube-system",
                    r#"{"kind":"Secret","metadata":{"name":"x"}}"#,
                )?;
                done(json!(created))
            }
            "bundle" => bundles::plan(&config, context),
            "fetch" => {
                let fetched = capability::fetch("https://example.com/x", 1024)?;
                done(json!(fetched.sha256))
            }
            "fetch-url" => {
                let url = config.get("url").and_then(Value::as_str).unwrap_or("");
                let max_bytes = config
                    .get("max_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(1 << 20);
                let fetched = capability::fetch(url, max_bytes)?;
                done(
                    json!({"sha256": fetched.sha256, "body": String::from_utf8_lossy(&fetched.body)}),
                )
            }
            "http" => {
                let text = |key: &str| config.get(key).and_then(Value::as_str).unwrap_or("");
                let mut request = capability::http::Request::new(text("method"), text("url"))
                    .follow_redirects(
                        config
                            .get("follow_redirects")
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                    );
                for (name, value) in config
                    .get("headers")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    request = request.header(name, value.as_str().unwrap_or(""));
                }
                if let Some(body) = config.get("body").and_then(Value::as_str) {
                    request = request.body(body);
                }
                if let Some(max_bytes) = config.get("max_bytes").and_then(Value::as_u64) {
                    request = request.max_response_bytes(max_bytes);
                }
                let response = request.send()?;
                done(json!({
                    "status": response.status,
                    "headers": response.headers,
                    "body": response.text(),
                    "final_url": response.final_url,
                }))
            }
            "host-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => done(json!({"leaked": text})),
                Err(error) => Err(ToolError::Failed(format!(
                    "cannot open /etc/passwd: {error}"
                ))),
            },
            "read-file" => {
                let path = config.get("path").and_then(Value::as_str).unwrap_or("");
                let bytes = capability::read_file(path, 1 << 20)?;
                done(json!(String::from_utf8_lossy(&bytes)))
            }
            // Memory isolation between calls: `plant` leaves a canary in static, heap and
            // stack memory; `scan` looks for it anywhere in linear memory.
            "plant" => done(json!({"planted": plant_canary()})),
            "scan" => done(json!({"found": canary_in_memory()})),
            // The state `init` built (snapshotted by the host), and a call that overwrites it
            // in place with the canary.
            "init-state" => done(json!(String::from_utf8_lossy(&INIT_STATE.lock().unwrap()))),
            "clobber-init-state" => {
                let canary = canary();
                let mut state = INIT_STATE.lock().unwrap();
                for chunk in state.chunks_mut(canary.len()) {
                    chunk.copy_from_slice(&canary[..chunk.len()]);
                }
                done(json!({"clobbered": state.len()}))
            }
            // The size of linear memory as the call starts (the guest's initial memory).
            "memory-size" => done(json!(core::arch::wasm32::memory_size(0) * 65536)),
            "plant-and-scan" => {
                plant_canary();
                done(json!({"found": canary_in_memory()}))
            }
            other => Err(ToolError::field(
                "tool.behavior",
                format!("unknown behavior `{other}`"),
                "use ok, loop, allocate, ...",
            )),
        }
    }
}

/// Recurses without end; the frame carries data so the optimiser cannot turn it into a loop.
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 16]);
    recurse(frame[3] + 1) + frame[7]
}

/// The canary is stored XOR-ed, so the scanner's own copy of it never matches.
const CANARY_MASKED: [u8; 24] =
    *b"\x14\x15\x1f\x0e\x16w\x19\x1b\x14\x1b\x08\x03w\x15\x0f\x1f\x00\x0b\x1e\x1b\x1f\x13\x1b\x0c";
const MASK: u8 = 0x7a;

static mut PLANTED: [u8; 4096] = [0; 4096];

fn canary() -> Vec<u8> {
    CANARY_MASKED.iter().map(|b| b ^ MASK).collect()
}

fn plant_canary() -> usize {
    let canary = canary();
    let mut heap = Vec::new();
    for _ in 0..4096 {
        heap.extend_from_slice(&canary);
    }
    std::mem::forget(heap);
    let mut stack = [0u8; 1024];
    stack[..canary.len()].copy_from_slice(&canary);
    std::hint::black_box(&stack);
    // SAFETY: single-threaded guest; nothing else touches PLANTED during this call.
    unsafe {
        std::ptr::copy_nonoverlapping(
            canary.as_ptr(),
            std::ptr::addr_of_mut!(PLANTED).cast::<u8>(),
            canary.len(),
        )
    };
    canary.len()
}

/// Whether the (unmasked) canary appears anywhere in linear memory.
fn canary_in_memory() -> bool {
    let end = core::arch::wasm32::memory_size(0) * 65536;
    // Address 0 is never written by Rust code; starting at 1 keeps the pointer non-null.
    (1..end.saturating_sub(CANARY_MASKED.len())).any(|at| {
        CANARY_MASKED.iter().enumerate().all(|(i, masked)| {
            // SAFETY: `at + i` is inside linear memory (bounded by memory_size above).
            let byte = unsafe { std::ptr::read_volatile((at + i) as *const u8) };
            byte ^ MASK == *masked
        })
    })
}

noetl_plugin_sdk::export_tool!(Hostile);
