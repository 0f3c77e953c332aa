"""Master data services: departments, sites, employees, devices, policies, assignments."""
