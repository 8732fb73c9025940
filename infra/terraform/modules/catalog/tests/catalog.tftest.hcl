variables {
  regions = {
    "us-east-1" = { azs = ["use1-az1", "use1-az2", "use1-az3"] }
    "eu-west-1" = { azs = ["euw1-az1", "euw1-az2", "euw1-az3"] }
  }
}

run "two_regions_zone_survival" {
  command = plan
  assert {
    condition     = output.primary_region == "eu-west-1"
    error_message = "primary defaults to the first region by name"
  }
  assert {
    condition     = output.init_sql[0] == "CREATE DATABASE IF NOT EXISTS meridian PRIMARY REGION \"eu-west-1\" REGIONS \"us-east-1\""
    error_message = "create: ${output.init_sql[0]}"
  }
  assert {
    condition     = output.init_sql[1] == "ALTER DATABASE meridian SURVIVE ZONE FAILURE"
    error_message = "survival: ${output.init_sql[1]}"
  }
  assert {
    condition     = length(output.nodes) == 6 && output.nodes["us-east-1/crdb-1-1"].az == "use1-az2"
    error_message = "one node per AZ"
  }
  assert {
    condition     = strcontains(output.start_commands["eu-west-1/crdb-0-1"], "--locality=region=eu-west-1,zone=euw1-az1")
    error_message = "locality missing"
  }
  assert {
    condition     = strcontains(output.dsn["us-east-1"], "crdb-0-1.us-east-1.crdb.meridian.internal:26257") && !strcontains(output.dsn["us-east-1"], "eu-west-1.crdb")
    error_message = "a region's DSN names its own nodes only"
  }
  assert {
    condition     = anytrue([for s in output.init_sql : strcontains(s, "buckets SET LOCALITY GLOBAL")])
    error_message = "bucket table must be GLOBAL"
  }
}

run "region_survival_needs_three_regions" {
  command = plan
  variables {
    survival_goal = "region"
  }
  expect_failures = [terraform_data.topology]
}

run "explicit_primary" {
  command = plan
  variables {
    primary_region = "us-east-1"
  }
  assert {
    condition     = output.init_sql[0] == "CREATE DATABASE IF NOT EXISTS meridian PRIMARY REGION \"us-east-1\" REGIONS \"eu-west-1\""
    error_message = "create: ${output.init_sql[0]}"
  }
}

run "needs_three_azs_per_region" {
  command = plan
  variables {
    regions = { "x-1" = { azs = ["a", "b"] } }
  }
  expect_failures = [var.regions]
}
