// Command etcd runs the etcd server from go.etcd.io/etcd/server/v3, pinned by this module's
// go.mod, so that the local cluster does not depend on a distribution's older etcd package.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
