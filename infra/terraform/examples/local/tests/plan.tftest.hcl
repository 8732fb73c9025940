# A plan of examples/local: the composition renders two regions of 4 AZs
# and an edge per region, on distinct loopback ports.

variables {
  meridian_bin = "/usr/local/bin/meridian"
  state_dir    = "/tmp/meridian-tf-plan"
}

run "plan_two_regions" {
  command = plan
  assert {
    condition     = length(terraform_data.meta) == 6 && length(terraform_data.storage) == 32 && length(terraform_data.gateway) == 4 && length(terraform_data.edge) == 2
    error_message = "want per region 3 meta, 16 storage, 1 gateway + 1 background, and one edge"
  }
  assert {
    condition     = output.edge_endpoints["us-east-1"] == "https://127.0.0.1:24010" && output.edge_endpoints["eu-west-1"] == "https://127.0.0.1:25010"
    error_message = "edge endpoints: ${jsonencode(output.edge_endpoints)}"
  }
  assert {
    condition     = strcontains(terraform_data.edge["us-east-1/edge-1"].input.command, "--regions eu-west-1=127.0.0.1:25050,us-east-1=127.0.0.1:24050")
    error_message = "edges must link to every region: ${terraform_data.edge["us-east-1/edge-1"].input.command}"
  }
  assert {
    condition     = length(distinct(concat([for k, v in terraform_data.meta : v.input.pidfile], [for k, v in terraform_data.storage : v.input.pidfile]))) == 38
    error_message = "every process needs its own pid file"
  }
}

run "one_region" {
  command = plan
  variables {
    regions = ["ap-south-1"]
  }
  assert {
    condition     = length(terraform_data.edge) == 1 && length(terraform_data.storage) == 16
    error_message = "one region"
  }
}

run "relative_binary_refused" {
  command = plan
  variables {
    meridian_bin = "bin/meridian"
  }
  expect_failures = [var.meridian_bin]
}
