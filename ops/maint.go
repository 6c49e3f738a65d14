package ops

// Conventions shared with other parts: a dangerous action on a target holds
// the store lock ActionLock(target), one at a time across users and replicas.
// While a human-started (or planned) action runs, the store state
// MaintenanceKey(target) holds Maintenance{Until} so the notifier holds that
// target's health alerts. The hold never hides an outage: it ends at once
// when the action failed or left the target unhealthy, and an action the
// bot started on its own to fix an alert holds nothing.

// MaintenanceGrace is added to a successful action's end before health
// alerts resume.
const MaintenanceGrace = 2 * 60 * 1000 // ms

// ActionLock is the store lock name for dangerous actions on target.
func ActionLock(target string) string { return "action:" + target }

// MaintenanceKey is the store state key for target's maintenance window.
func MaintenanceKey(target string) string { return "maintenance:" + target }

// Maintenance is the value under MaintenanceKey.
type Maintenance struct {
	Until int64 `json:"until"` // unix ms
}
