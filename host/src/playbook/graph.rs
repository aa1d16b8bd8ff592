//! `check --graph`: the steps and arcs of a playbook as a Mermaid flowchart, each arc
//! labelled with its `when`.

use noetl_orchestrate_core::playbook::NextSpec;

use super::Document;

/// A `flowchart TD` with one node per step (label: name and tool kinds) and one edge per
/// arc; `end` is drawn when an arc goes there without an `end` step.
pub fn mermaid(document: &Document) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut ends = false;
    for step in &document.core.workflow {
        let tool = match document.step(&step.step) {
            Some(ours) => ours.tool_label(),
            None => "entry".into(),
        };
        let looped = if step.r#loop.is_some() { " ↻" } else { "" };
        out.push_str(&format!("    {}[\"{}<br/>{}{looped}\"]\n", id(&step.step), escape(&step.step), escape(&tool)));
        for (target, when) in arcs(step.next.as_ref()) {
            ends |= target == "end" && document.core.get_step("end").is_none();
            match when {
                Some(when) => out.push_str(&format!("    {} -->|\"{}\"| {}\n", id(&step.step), escape(&when), id(&target))),
                None => out.push_str(&format!("    {} --> {}\n", id(&step.step), id(&target))),
            }
        }
    }
    if ends {
        out.push_str(&format!("    {}((end))\n", id("end")));
    }
    out
}

fn arcs(next: Option<&NextSpec>) -> Vec<(String, Option<String>)> {
    match next {
        None => Vec::new(),
        Some(NextSpec::Single(name)) => vec![(name.clone(), None)],
        Some(NextSpec::List(names)) => names.iter().map(|n| (n.clone(), None)).collect(),
        Some(NextSpec::Targets(targets)) => targets.iter().map(|t| (t.step.clone(), t.when.clone())).collect(),
        Some(NextSpec::Router(router)) => router.arcs.iter().map(|a| (a.step.clone(), a.when.clone())).collect(),
    }
}

/// Node ids: step names may hold characters Mermaid reads as syntax.
fn id(step: &str) -> String {
    let safe: String = step.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("s_{safe}")
}

fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs_carry_their_when() {
        let doc = Document::parse(
            "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: p}\nworkflow:\n  - step: start\n    tool: {kind: script}\n    next: {spec: {mode: exclusive}, arcs: [{step: big, when: '{{ start.n > 5 }}'}, {step: end}]}\n  - step: big\n    tool: {kind: json-transform}\n",
            "p",
        )
        .unwrap();
        let chart = mermaid(&doc);
        assert!(chart.contains("s_start -->|\"{{ start.n > 5 }}\"| s_big"), "{chart}");
        assert!(chart.contains("s_start --> s_end"), "{chart}");
        assert!(chart.contains("s_end((end))"), "{chart}");
        assert!(chart.contains("s_big[\"big<br/>json-transform\"]"), "{chart}");
    }
}
