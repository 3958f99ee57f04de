// Package reports turns a bench's runs into what people read: report.html
// (one self-contained page with inline SVG charts drawn by gonum/plot),
// report.md (tables and verdicts for pull requests) and summary.json (every
// policy on every scenario, for gates).
//
// Verdicts are computed from the numbers, never written by hand, so a report
// cannot claim a winner its own table contradicts.
package reports
