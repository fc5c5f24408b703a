package ctl

// desk bind is cabinet bind for a desk (cabinet_bind.go).
func init() {
	add(defineNew("desk bind", "CODE AGENT", bindHelp("desk"), func() *bindArgs { return &bindArgs{kind: "desk", zh: "工作台"} }))
}
