// Package samples embeds sample Animus event bodies, shaped as the Animus
// webhook docs show them (see events/README.md), for the sender, tests and
// fuzz seeds.
package samples

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed events/*.json
var events embed.FS

// Names lists the samples: "failure", "success", "uppercase", "unknown".
func Names() []string {
	entries, _ := events.ReadDir("events")
	var names []string
	for _, e := range entries {
		names = append(names, shortName(e.Name()))
	}
	sort.Strings(names)
	return names
}

// Get returns the body of the named sample, or an error listing the names.
func Get(name string) ([]byte, error) {
	entries, _ := events.ReadDir("events")
	for _, e := range entries {
		if shortName(e.Name()) == name {
			return events.ReadFile("events/" + e.Name())
		}
	}
	return nil, fmt.Errorf("no sample %q (have %s)", name, strings.Join(Names(), ", "))
}

// shortName maps "media-completed-success.json" to "success" and
// "unknown-event-type.json" to "unknown".
func shortName(file string) string {
	n := strings.TrimSuffix(file, ".json")
	n = strings.TrimPrefix(n, "media-completed-")
	return strings.TrimSuffix(n, "-event-type")
}
