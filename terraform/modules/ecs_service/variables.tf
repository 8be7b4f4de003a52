variable "name_prefix" {
  description = "Prefix of the names of IAM roles, secrets and security groups, e.g. delivery-standard-prod."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name, e.g. ioanyt-prod."
  type        = string
}

variable "service_name" {
  description = "ECS service name, e.g. delivery-standard."
  type        = string
}

variable "task_family" {
  description = "Task definition family, e.g. delivery-standard."
  type        = string
}

variable "container_name" {
  description = "Name of the container in the task definition."
  type        = string
  default     = "usage-metrics"
}

variable "ecr_repository_name" {
  description = "Name of the ECR repository holding the service image."
  type        = string
}

variable "ecr_image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE image tags."
  type        = string
  default     = "IMMUTABLE"
}

variable "ecr_keep_tagged_images" {
  description = "How many release (v*) images the ECR lifecycle policy keeps."
  type        = number
  default     = 30
}

variable "ecr_keep_other_images" {
  description = "How many other tagged images (e.g. commit SHAs) the ECR lifecycle policy keeps."
  type        = number
  default     = 20
}

variable "image_tag" {
  description = "Tag of the image to run, e.g. v1.2.3."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group of the containers, e.g. /ecs/delivery-standard-prod."
  type        = string
}

variable "log_retention_days" {
  description = "Days to keep the container logs."
  type        = number
  default     = 30
}

variable "environment" {
  description = "Value of the container's ENVIRONMENT variable (production or staging)."
  type        = string
}

variable "log_level" {
  description = "Value of the container's LOG_LEVEL variable."
  type        = string
  default     = "info"
}

variable "container_port" {
  description = "Port the service listens on."
  type        = number
  default     = 3000
}

variable "extra_environment" {
  description = "Further plain environment variables for the container."
  type        = map(string)
  default     = {}
}

variable "database_url_secret_arn" {
  description = "Secrets Manager secret whose value becomes DATABASE_URL."
  type        = string
}

variable "api_keys" {
  description = "Initial value of the API_KEYS secret. Leave null to set it outside Terraform (aws secretsmanager put-secret-value)."
  type        = string
  default     = null
  sensitive   = true
}

variable "secret_recovery_window_days" {
  description = "Recovery window of the API_KEYS secret when deleted (0 deletes at once)."
  type        = number
  default     = 7
}

variable "cpu" {
  description = "Task CPU units."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number
  default     = 1024
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; must match the image."
  type        = string
  default     = "X86_64"
}

variable "desired_count" {
  description = "Number of tasks when the service is created (auto-scaling adjusts it later)."
  type        = number
  default     = 2
}

variable "min_capacity" {
  description = "Auto-scaling minimum number of tasks."
  type        = number
  default     = 2
}

variable "max_capacity" {
  description = "Auto-scaling maximum number of tasks."
  type        = number
  default     = 6
}

variable "cpu_target_percent" {
  description = "Average CPU utilization the auto-scaling keeps the service at."
  type        = number
  default     = 60
}

variable "health_check_grace_period_seconds" {
  description = "Seconds the service ignores failing load balancer health checks after a task starts."
  type        = number
  default     = 60
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets for the tasks (private, with a NAT gateway or VPC endpoints for ECR, logs and Secrets Manager)."
  type        = list(string)
}

variable "assign_public_ip" {
  description = "Give tasks a public IP (only for subnets without NAT)."
  type        = bool
  default     = false
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer, allowed to reach the container port."
  type        = string
}

variable "target_group_arn" {
  description = "Target group the service registers its tasks in."
  type        = string
}

variable "enable_execute_command" {
  description = "Allow ECS Exec into the tasks (a shell, or a tunnel to the database); applies to tasks started after the change."
  type        = bool
  default     = true
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
