package wire

import "strings"

// DefaultBase is the base topic when none is configured.
const DefaultBase = "custody"

// Topics names every topic of the contract under one base (mqtt.md §2).
type Topics struct {
	Base string // without a trailing slash; "" means DefaultBase
}

func (t Topics) base() string {
	if t.Base == "" {
		return DefaultBase
	}
	return strings.TrimSuffix(t.Base, "/")
}

// Availability is the agent's retained online/offline topic; offline is its Last Will.
func (t Topics) Availability(agent string) string {
	return t.base() + "/agents/" + agent + "/availability"
}

// Obs is where the agent publishes observation envelopes.
func (t Topics) Obs(agent string) string { return t.base() + "/agents/" + agent + "/obs" }

// Cmd is where custodyd publishes command envelopes for the agent.
func (t Topics) Cmd(agent string) string { return t.base() + "/agents/" + agent + "/cmd" }

// Alerts is custodyd's alert stream for internal integrations.
func (t Topics) Alerts() string { return t.base() + "/alerts" }

// Summary is where custodyd publishes the morning summary of the nightly inventory.
func (t Topics) Summary() string { return t.base() + "/summary" }

// ObsFilter matches every agent's observation topic.
func (t Topics) ObsFilter() string { return t.base() + "/agents/+/obs" }

// AvailabilityFilter matches every agent's availability topic.
func (t Topics) AvailabilityFilter() string { return t.base() + "/agents/+/availability" }

// Instance is where custodyd instance id (its MQTT client id) says whether it is online: retained,
// with its Last Will saying offline. Only instances on a shared subscription say it.
func (t Topics) Instance(id string) string { return t.base() + "/custodyd/" + id }

// InstanceFilter matches every instance's presence topic.
func (t Topics) InstanceFilter() string { return t.base() + "/custodyd/+" }

// InstanceOf returns the instance of a presence topic, or ok=false for any other topic.
func (t Topics) InstanceOf(topic string) (id string, ok bool) {
	id, found := strings.CutPrefix(topic, t.base()+"/custodyd/")
	if !found || !ValidID(id) {
		return "", false
	}
	return id, true
}

// AgentPrefix is the subtree an agent may publish in: base/agents/{agent}/.
func (t Topics) AgentPrefix(agent string) string { return t.base() + "/agents/" + agent + "/" }

// AgentOf returns the agent id and the leaf ("obs", "availability", "cmd") of a topic under
// base/agents/, or ok=false for any other topic.
func (t Topics) AgentOf(topic string) (agent, leaf string, ok bool) {
	rest, found := strings.CutPrefix(topic, t.base()+"/agents/")
	if !found {
		return "", "", false
	}
	agent, leaf, found = strings.Cut(rest, "/")
	if !found || !ValidID(agent) || leaf == "" || strings.Contains(leaf, "/") {
		return "", "", false
	}
	return agent, leaf, true
}
