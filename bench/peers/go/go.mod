module gmpos/bench/peers

go 1.19
