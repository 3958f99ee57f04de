package reports

import (
	"bytes"
	"fmt"
	"strings"
)

// Markdown renders the report as GitHub-flavoured markdown: the tables and
// verdicts of the HTML report without the charts, for PR comments and diffs.
func Markdown(s Suite) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", s.Title)
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "> %s\n", n)
	}
	if len(s.Notes) > 0 {
		b.WriteString("\n")
	}
	for _, sc := range s.Scenarios {
		fmt.Fprintf(&b, "## %s\n\n", sc.Name)
		if sc.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", sc.Description)
		}
		if sc.Traffic != "" {
			fmt.Fprintf(&b, "Traffic: `%s`\n\n", sc.Traffic)
		}
		b.WriteString("### Verdict\n\n")
		for _, v := range Verdict(sc) {
			fmt.Fprintf(&b, "- %s\n", v)
		}
		b.WriteString("\n### Comparison\n\n")
		b.WriteString("| " + strings.Join(columns, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat(" --- |", len(columns)) + "\n")
		for _, r := range sc.Runs {
			cells := row(sc, r)
			for i, c := range cells {
				cells[i] = strings.ReplaceAll(c, "|", "\\|")
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}
