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
	b.WriteString("## Summary\n\n")
	mdTable(&b, overviewColumns, func(add func([]string)) {
		for _, o := range Overviews(s) {
			add([]string{o.Scenario, o.Pick, o.FewestCold, o.LowestP99, o.Cheapest})
		}
	})
	mdTable(&b, scoreColumns, func(add func([]string)) {
		for _, p := range PolicyScores(s) {
			add(p.cells())
		}
	})
	b.WriteString("## How to read this report\n\n")
	for _, l := range HowToRead {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	b.WriteString("\n## What was run\n\n")
	for _, f := range s.Setup {
		fmt.Fprintf(&b, "- **%s**: %s\n", f.Name, f.Value)
	}
	if len(s.Setup) > 0 {
		b.WriteString("\n")
	}
	if len(s.Policies) > 0 {
		mdTable(&b, []string{"policy", "what it models", "settings"}, func(add func([]string)) {
			for _, p := range s.Policies {
				set := "defaults"
				if p.Settings != "" {
					set = "`" + p.Settings + "`"
				}
				add([]string{p.Label, p.Summary, set})
			}
		})
	}
	for _, sc := range s.Scenarios {
		fmt.Fprintf(&b, "## %s\n\n", sc.Name)
		if sc.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", sc.Description)
		}
		if sc.Setup != "" {
			fmt.Fprintf(&b, "%s.\n\n", sc.Setup)
		}
		if sc.Traffic != "" {
			fmt.Fprintf(&b, "Traffic: `%s`\n\n", sc.Traffic)
		}
		b.WriteString("### Verdict\n\n")
		for _, v := range Verdict(sc) {
			fmt.Fprintf(&b, "- %s\n", v)
		}
		b.WriteString("\n### Comparison\n\n")
		mdTable(&b, columns, func(add func([]string)) {
			for _, r := range sc.Runs {
				add(row(sc, r))
			}
		})
	}
	return b.Bytes()
}

// mdTable writes one table; rows calls add once per row.
func mdTable(b *bytes.Buffer, header []string, rows func(add func([]string))) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	rows(func(cells []string) {
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	})
	b.WriteString("\n")
}
