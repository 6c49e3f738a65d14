package store

import (
	"fmt"
	"reflect"
	"strings"
)

// Every query names its columns, never SELECT *: during a rolling upgrade a
// newer replica's migration adds columns while this release still runs, and
// sqlx refuses a result column that has no field ("missing destination
// name"). The lists are built once, from the row struct's db tags, so a field
// added to a struct is selected without a second list to keep in step; a
// field whose column does not exist fails every test that reads the row.

var (
	alertCols        = columnsOf(AlertRow{}, "")
	alertColsA       = columnsOf(AlertRow{}, "a") // alerts joined as "a"
	alertMessageCols = columnsOf(AlertMessage{}, "")
	auditCols        = columnsOf(AuditRow{}, "")
	backupCols       = columnsOf(BackupRow{}, "")
	confirmationCols = columnsOf(Confirmation{}, "")
	eventCols        = columnsOf(eventRow{}, "")
	incidentCols     = columnsOf(incidentRow{}, "")
	jobRunCols       = columnsOf(JobRun{}, "")
	outboxCols       = columnsOf(OutboxRow{}, "")
	refCols          = columnsOf(MessageRef{}, "")
	silenceCols      = columnsOf(SilenceRow{}, "")
	subscriptionCols = columnsOf(Subscription{}, "")
)

// columnsOf returns the comma-separated db tags of row's fields, in field
// order, each prefixed with "alias." when alias is set. It panics (at
// package init) on a field without a db tag: sqlx would map it by its
// lower-cased name, which is easy to get wrong and hard to see.
func columnsOf(row any, alias string) string {
	t := reflect.TypeOf(row)
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("store: columns of %s: not a struct", t))
	}
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("db"), ",")
		switch tag {
		case "-":
			continue
		case "":
			panic(fmt.Sprintf("store: columns of %s: field %s has no db tag", t, f.Name))
		}
		if alias != "" {
			tag = alias + "." + tag
		}
		names = append(names, tag)
	}
	if len(names) == 0 {
		panic(fmt.Sprintf("store: columns of %s: no columns", t))
	}
	return strings.Join(names, ", ")
}
