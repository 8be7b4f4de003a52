variable "name" {
  description = "Identifier of the database instance and prefix of its resources, e.g. delivery-standard-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (at least two AZs) for the DB subnet group."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the PostgreSQL port (the service tasks)."
  type        = list(string)
  default     = []
}

variable "engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "15"
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Upper limit for storage autoscaling in GiB."
  type        = number
  default     = 100
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "usage_metrics"
}

variable "username" {
  description = "Master user name."
  type        = string
  default     = "usage_metrics"
}

variable "multi_az" {
  description = "Run a standby in a second AZ (true in prod)."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days to keep automated backups."
  type        = number
  default     = 7
}

variable "backup_window" {
  description = "Daily backup window (UTC)."
  type        = string
  default     = "00:30-01:30"
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC); the runbook prefers Sundays 02:00-06:00."
  type        = string
  default     = "sun:02:00-sun:04:00"
}

variable "deletion_protection" {
  description = "Protect the instance from deletion."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot when the instance is destroyed."
  type        = bool
  default     = false
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the DATABASE_URL secret when deleted (0 deletes at once)."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
