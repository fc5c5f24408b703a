package ctl

import (
	"context"
	"net/url"
	"sort"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// labels print renders on the custodian's machine: custodyd hands out the items with their EPCs
// (never a title — labels carry none), and the label templates, font and printer are local.

func (c *CLI) labelItems(ctx context.Context, doc string, ids []string) ([]apitype.Item, error) {
	if doc != "" {
		var items []apitype.Item
		err := c.call(ctx, "GET", "/api/v1/items?"+url.Values{"document": {doc}}.Encode(), nil, &items)
		if err == nil && len(items) == 0 {
			err = exitf(ExitNotFound, "%s", c.say("没有文件 "+doc+" 的文件份", "no items of document "+doc))
		}
		return items, err
	}
	var items []apitype.Item
	bar := c.startProgress(int64(len(ids)), false, "读取文件份", "fetching items")
	defer bar.Done()
	for _, s := range ids {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, exitf(ExitUsage, "item ID %q is not a number", s)
		}
		var it apitype.Item
		if err := c.call(ctx, "GET", "/api/v1/items/"+s, nil, &it); err != nil {
			return nil, err
		}
		items = append(items, it)
		bar.Set(int64(len(items)))
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return items, nil
}
