-- Databases for Airflow's metadata and MLflow's tracking/registry store.
CREATE DATABASE airflow;
CREATE DATABASE mlflow;
