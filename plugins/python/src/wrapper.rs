//! The script the Job runs: `wrapper.py` with the step's code and working directory in it
//! as Python string literals (JSON strings are valid Python literals).

use serde_json::Value;

const TEMPLATE: &str = include_str!("wrapper.py");

/// Marks the line carrying the step's value as JSON (upstream's marker).
pub const RESULT_MARK: &str = "@@__NOETL_RESULT__@@";
/// Marks the line carrying Python's error as `{"error": last line, "traceback": text}`.
pub const ERROR_MARK: &str = "@@__NOETL_ERROR__@@";

pub fn script(code: &str, cwd: Option<&str>) -> String {
    let cwd = cwd.map_or_else(|| "None".to_owned(), |cwd| Value::from(cwd).to_string());
    // CWD first: the CODE line comes before it, so the code (which may contain either
    // placeholder) is inserted last and never searched.
    TEMPLATE
        .replacen("CWD = __NOETL_CWD__", &format!("CWD = {cwd}"), 1)
        .replacen(
            "CODE = __NOETL_CODE__",
            &format!("CODE = {}", Value::from(code)),
            1,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_cwd_become_literals_and_placeholders_in_them_stay() {
        let text = script("print(\"__NOETL_CWD__\")\n", Some("/tmp/__NOETL_CODE__"));
        assert!(
            text.contains(r#"CODE = "print(\"__NOETL_CWD__\")\n""#),
            "{text}"
        );
        assert!(text.contains(r#"CWD = "/tmp/__NOETL_CODE__""#), "{text}");
        assert!(script("x = 1", None).contains("CWD = None"));
        assert!(TEMPLATE.contains(RESULT_MARK) && TEMPLATE.contains(ERROR_MARK));
    }
}
