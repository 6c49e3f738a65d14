package plan_test

import (
	"fmt"

	"opsbot/ops/plan"
)

func ExamplePlan_Table() {
	p, _ := plan.Parse("10000", "10%", "12")
	fmt.Println(p.Table())
	// Output:
	// month          users  cores  memory GB  storage GB
	//     0         10,000     10         20       1,000
	//     2         12,100     12         24       1,210
	//     4         14,641     14         29       1,465
	//     6         17,716     17         35       1,772
	//     8         21,436     21         42       2,144
	//    10         25,937     25         51       2,594
	//    12         31,384     31         62       3,139
}
