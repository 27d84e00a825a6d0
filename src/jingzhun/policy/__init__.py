"""Policy as data: schema and store of the policy files; the rule language follows."""
