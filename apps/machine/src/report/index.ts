/** Reports of a run: the text a person reads and the JSON of CONTRACT.md §3. */
export { format_text_report } from "./text.js";
export type { TextReportOptions } from "./text.js";
export { format_json_report, json_report } from "./json.js";
export { VERSION } from "./version.js";
